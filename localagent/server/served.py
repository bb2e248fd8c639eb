"""What langgraph.json mounts as ``http.app``: the server's app built from the configured
settings (read once, at import, like graph/served.py), so ``langgraph dev`` and Studio
users get the gateway's routes beside LangGraph's."""

from __future__ import annotations

from graph.configured import load_configuration
from localagent.server.app import create_app

app = create_app(load_configuration())

"""The workflow runs API: ``build_runs_router`` for the server app, ``RunManager`` for the
runs themselves (the app may build one and pass it, to stop runs on its own shutdown)."""

from localagent.server.runs.manager import RunManager
from localagent.server.runs.routes import build_runs_router

__all__ = ["RunManager", "build_runs_router"]

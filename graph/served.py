"""What langgraph.json serves (``langgraph dev``, Studio): the workflow and agent graphs,
compiled without a checkpointer (the server brings its own). The LocalAgent configuration is
read here, once, at import (not on the server's event loop): its ``workflow.*`` values become
the context schema's defaults, which Studio shows and a run that leaves a field out gets."""

from __future__ import annotations

from graph.agent import build_agent
from graph.context import settings, with_configured_defaults
from graph.workflow import build_workflow

context_schema = with_configured_defaults(settings().workflow)
workflow = build_workflow(context_schema=context_schema)
agent = build_agent(context_schema=context_schema)

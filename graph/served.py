"""What langgraph.json serves (``langgraph dev``, Studio): the workflow, agent and chat
graphs, compiled without a checkpointer (the server brings its own). The edge that reads the
LocalAgent configuration, here, once, at import (not on the server's event loop): its
``workflow.*`` values become the context schema's defaults, which Studio shows and a run that
leaves a field out gets; its providers and security settings make the injected factories."""

from __future__ import annotations

from graph.agent import build_agent
from graph.chat import build_chat
from graph.configured import Configured, load_configuration
from graph.context import with_configured_defaults
from graph.workflow import build_workflow
from nodes.model_calls import ModelSource

configured = Configured(load_configuration())
context_schema = with_configured_defaults(configured.config.workflow)
workflow = build_workflow(models=configured.model, policies=configured.policy,
                          context_schema=context_schema)
agent = build_agent(ModelSource(configured.model), configured.policy,
                    context_schema=context_schema)
chat = build_chat(models=configured.model)

"""The agent subgraph: a role prompt, a tool loop through the security policy, a result."""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from graph.context import WorkflowContext
from graph.state import AgentState
from nodes import agent_steps
from nodes.models import ModelSource


def build_agent(models: ModelSource | None = None, checkpointer: Any = None) -> Any:
    models = models or ModelSource()
    builder = StateGraph(AgentState, context_schema=WorkflowContext)
    builder.add_node("think", partial(agent_steps.think, models=models))
    builder.add_node("act", agent_steps.act)
    builder.add_node("report", partial(agent_steps.report, models=models))
    builder.add_edge(START, "think")
    builder.add_conditional_edges("think", agent_steps.route, ["act", "report"])
    builder.add_edge("act", "think")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer, name="agent")


graph = build_agent()

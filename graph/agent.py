"""The agent subgraph: a role prompt, a tool loop through the security policy, a result.

The workflow adds it as its ``research_agent`` and ``execute_agent`` nodes (``Send`` targets),
so Studio draws it and its state can be inspected; its output is the branch's result under
the workflow's key for the phase."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from graph.configured import Configured
from graph.context import PolicyFactory, WorkflowContext
from graph.state import AgentInput, AgentOutput, AgentState
from nodes import agent_steps
from nodes.model_calls import ModelSource
from nodes.runnable import node


def build_agent(models: ModelSource, policies: PolicyFactory | None = None,
                checkpointer: Any = None, *,
                context_schema: type[WorkflowContext] = WorkflowContext) -> Any:
    """The compiled agent subgraph; ``policies`` left out: the user's configured security
    settings, read when first needed."""
    policies = policies or Configured().policy
    builder = StateGraph(AgentState, context_schema=context_schema, input_schema=AgentInput,
                         output_schema=AgentOutput)
    builder.add_node("think", node(agent_steps.think, models=models, policies=policies))
    builder.add_node("act", node(agent_steps.act, policies=policies))
    builder.add_node("report", node(agent_steps.report, models=models, policies=policies))
    builder.add_edge(START, "think")
    builder.add_conditional_edges("think", agent_steps.after_think, ["act", "report"])
    builder.add_conditional_edges("act", agent_steps.after_act, ["think", "report"])
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer, name="agent")

"""The phase workflow: scope → research → plan → context → execute → integrate → validate
→ audit → document → readiness. ``graph`` (no checkpointer) is what langgraph.json serves;
``build_workflow`` compiles the same graph with a checkpointer or an injected model."""

from __future__ import annotations

from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from graph.agent import build_agent
from graph.context import WorkflowContext, settings
from graph.state import WorkflowInput, WorkflowState
from nodes import (
    context_pack,
    execute,
    integrate,
    plan,
    report,
    research,
    review,
    scope,
    validate,
)
from nodes.branches import run_branch
from nodes.models import ModelSource


def build_workflow(*, model: BaseChatModel | None = None, checkpointer: Any = None,
                   store: Any = None) -> Any:
    """The compiled workflow; with ``model``, every node uses it instead of the providers."""
    models = ModelSource(model)
    agent = build_agent(models)
    g = StateGraph(WorkflowState, context_schema=WorkflowContext, input_schema=WorkflowInput)
    g.add_node("draft_scope", partial(scope.draft, models=models))
    g.add_node("confirm_scope", scope.confirm,
               destinations=("draft_scope", "research", "finish"))
    g.add_node("research", research.start)
    g.add_node("research_agent", partial(run_branch, agent=agent))
    g.add_node("plan", partial(plan.make_plan, models=models))
    g.add_node("context", context_pack.build)
    g.add_node("execute", execute.gate)
    g.add_node("execute_agent", partial(run_branch, agent=agent))
    g.add_node("merge", integrate.merge)
    g.add_node("approve_changes", integrate.approve,
               destinations=("apply", "validate", "plan", "finish"))
    g.add_node("apply", integrate.apply)
    g.add_node("validate", validate.run_checks, destinations=("audit", "research"))
    g.add_node("audit", partial(review.audit, models=models), destinations=("plan", "document"))
    g.add_node("document", partial(review.document, models=models))
    g.add_node("readiness", partial(review.readiness, models=models))
    g.add_node("finish", report.finish)

    g.add_edge(START, "draft_scope")
    g.add_edge("draft_scope", "confirm_scope")
    g.add_conditional_edges("research", research.fan_out, ["research_agent", "plan"])
    g.add_edge("research_agent", "plan")
    g.add_edge("plan", "context")
    g.add_edge("context", "execute")
    g.add_conditional_edges("execute", execute.dispatch, ["execute_agent", "merge"])
    g.add_edge("execute_agent", "execute")
    g.add_edge("merge", "approve_changes")
    g.add_edge("apply", "validate")
    g.add_edge("document", "readiness")
    g.add_edge("readiness", "finish")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer, store=store, name="workflow")


settings()  # langgraph dev / Studio: read the configuration now, not on the event loop
graph = build_workflow()

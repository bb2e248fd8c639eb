"""The phase workflow: scope → research → plan → context → execute → integrate → validate
→ audit → document → readiness. ``build_workflow`` compiles it with a checkpointer and/or an
injected model; ``graph.served`` is what langgraph.json serves. Every node runs under
``invoke``/``stream`` and ``ainvoke``/``astream`` (see ``nodes.runnable``)."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from graph.agent import build_agent
from graph.configured import Configured
from graph.context import ModelFactory, PolicyFactory, WorkflowContext
from graph.state import WorkflowInput, WorkflowState
from nodes import (
    closing,
    context_pack,
    execute,
    integrate,
    plan,
    report,
    research,
    scope,
    validate,
)
from nodes.model_calls import ModelSource
from nodes.runnable import node


def build_workflow(*, model: BaseChatModel | None = None, models: ModelFactory | None = None,
                   policies: PolicyFactory | None = None, checkpointer: Any = None,
                   store: Any = None,
                   context_schema: type[WorkflowContext] = WorkflowContext) -> Any:
    """The compiled workflow. ``model``: every node uses it; else ``models`` builds them.
    ``policies``: the security policy of a run. Left out, both come from the user's
    configuration, read when first needed (``graph.configured``). ``context_schema``:
    ``WorkflowContext`` or one with other defaults (``with_configured_defaults``)."""
    configured = Configured()
    source = ModelSource.fixed(model) if model is not None else ModelSource(
        models or configured.model)
    policies = policies or configured.policy
    return _assemble(source, policies, context_schema).compile(
        checkpointer=checkpointer, store=store, name="workflow")


def _assemble(models: ModelSource, policies: PolicyFactory,
              context_schema: type[WorkflowContext]) -> StateGraph[Any, Any, Any, Any]:
    agent = build_agent(models, policies, context_schema=context_schema)
    g = StateGraph(WorkflowState, context_schema=context_schema, input_schema=WorkflowInput)
    g.add_node("draft_scope", node(scope.draft, models=models, policies=policies))
    g.add_node("confirm_scope", node(scope.confirm),
               destinations=("draft_scope", "research", "finish"))
    g.add_node("research", node(research.start))
    g.add_node("research_agent", agent)
    g.add_node("plan", node(plan.make_plan, models=models, policies=policies))
    g.add_node("context", node(context_pack.pack_contexts, policies=policies))
    g.add_node("execute", node(execute.next_wave))
    g.add_node("execute_agent", agent)
    g.add_node("merge", node(integrate.merge, policies=policies))
    g.add_node("approve_changes", node(integrate.approve),
               destinations=("apply", "validate", "plan", "finish"))
    g.add_node("apply", node(integrate.apply, policies=policies))
    g.add_node("validate", node(validate.run_checks, policies=policies),
               destinations=("audit", "research"))
    g.add_node("audit", node(closing.audit, models=models), destinations=("plan", "document"))
    g.add_node("document", node(closing.document, models=models))
    g.add_node("readiness", node(closing.readiness, models=models))
    g.add_node("finish", node(report.finish))

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
    return g

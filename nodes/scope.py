"""Phase 0: restate the request as a scope, and have the user confirm or amend it."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from graph.context import PolicyFactory, WorkflowContext
from graph.phases import SCOPE
from graph.state import Scope, WorkflowState
from localagent.security import SecurityPolicy
from nodes.answers import marked
from nodes.decisions import parse_decision
from nodes.model_calls import Ask, ModelSource
from nodes.progress import phase
from nodes.runnable import Steps
from nodes.workspace import context_of
from prompts import load_prompt


def _prompt(state: WorkflowState, policy: SecurityPolicy) -> str:
    policy.check_message(state["request"], what="the request")
    files = [f for _, f in zip(range(40), policy.list_files("."), strict=False)]
    return load_prompt(SCOPE.prompt).render(
        request=state["request"], files=files, feedback=state.get("scope_feedback") or "(none)")


def _unscoped(state: WorkflowState) -> dict[str, Any]:
    """Without the scope phase, the request is the scope."""
    return {"scope": Scope(summary=state["request"]).model_dump(), "status": "running"}


@phase(SCOPE, skipped=_unscoped)
def draft(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
          models: ModelSource, policies: PolicyFactory) -> Steps:
    context = context_of(runtime)
    prompt = _prompt(state, policies(state["workspace"], context))
    scope, activity = yield Ask(models.get(context), Scope, prompt, phase="scope")
    return {"scope": marked(scope, activity), "status": "running", "activity": [activity]}


def confirm(state: WorkflowState, runtime: Runtime[WorkflowContext]
            ) -> Command[Literal["draft_scope", "research", "finish"]]:
    """Interrupt for confirmation (unless auto-approve); feedback goes back to draft."""
    context = context_of(runtime)
    if context.auto_approve or not context.runs(SCOPE):
        return Command(goto="research")
    answer = interrupt({"type": "confirm_scope",
                        "message": "Confirm the scope, or answer with feedback to re-scope.",
                        "scope": state["scope"], "request": state["request"]})
    decision = parse_decision(answer)
    scope = dict(state["scope"])
    if isinstance(decision.edits, dict):
        scope.update({k: v for k, v in decision.edits.items() if k in Scope.model_fields})
        scope = Scope.model_validate(scope).model_dump()
    if decision.feedback and not decision.approved:
        return Command(goto="draft_scope", update={"scope_feedback": decision.feedback})
    if not decision.approved:
        return Command(goto="finish", update={"status": "cancelled"})
    return Command(goto="research", update={"scope": scope})

"""The closing phases (7-9), after the change is applied: audit it against the scope,
propose documentation, summarise readiness."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel

from graph.context import WorkflowContext
from graph.phases import AUDIT, DOCUMENT, READINESS, Phase
from graph.state import AuditReport, DocUpdate, Readiness, Validation, WorkflowState
from nodes.answers import marked
from nodes.model_calls import Ask, ModelSource
from nodes.progress import phase
from nodes.runnable import ModelRequest, Steps
from nodes.workspace import context_of
from prompts import load_prompt

DIFF_CHARS = 6000


def _validation_text(state: WorkflowState) -> Validation:
    """The validation, each check's output cut to its tail."""
    validation = state.get("validation") or Validation()
    return {**validation, "checks": [{**c, "output_tail": c.get("output_tail", "")[-600:]}
                                     for c in validation.get("checks", [])]}


@phase(AUDIT, skipped=lambda state: Command(goto="document"))
def audit(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
          models: ModelSource) -> Generator[ModelRequest, Any,
                                            Command[Literal["plan", "document"]]]:
    context = context_of(runtime)
    prompt = load_prompt(AUDIT.prompt).render(
        scope=state.get("scope", {}),
        diff=(state.get("changes") or {}).get("diff", "")[:DIFF_CHARS] or "(no change)",
        validation=_validation_text(state))
    report, activity = yield Ask(models.get(context), AuditReport, prompt, phase="audit")
    update: dict[str, Any] = {"audit": marked(report, activity), "activity": [activity]}
    loops = state.get("audit_loops", 0)
    if report.replan and report.lessons and loops < context.max_audit_loops:
        return Command(goto="plan", update={
            **update, "audit_loops": loops + 1,
            "lessons": [*(state.get("lessons") or []), *report.lessons]})
    return Command(goto="document", update=update)


def _summary(runtime: Runtime[WorkflowContext], models: ModelSource, summarised: Phase,
             schema: type[BaseModel], key: str, **values: Any) -> Steps:
    """Phases 8 and 9: one structured answer stored under ``key``."""
    context = context_of(runtime)
    prompt = load_prompt(summarised.prompt).render(**values)
    answer, activity = yield Ask(models.get(context), schema, prompt, phase=summarised.name)
    return {key: marked(answer, activity), "activity": [activity]}


@phase(DOCUMENT)
def document(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
             models: ModelSource) -> Steps:
    return (yield from _summary(runtime, models, DOCUMENT, DocUpdate, "docs",
                                scope=state.get("scope", {}),
                                files=(state.get("applied") or {}).get("paths", []),
                                audit=state.get("audit", {})))


@phase(READINESS)
def readiness(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
              models: ModelSource) -> Steps:
    return (yield from _summary(runtime, models, READINESS, Readiness, "readiness",
                                scope=state.get("scope", {}),
                                validation=_validation_text(state),
                                audit=state.get("audit", {})))

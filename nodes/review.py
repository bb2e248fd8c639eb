"""Phases 7-9: audit against the scope, documentation proposals, readiness summary."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.context import WorkflowContext, settings
from graph.state import AuditReport, DocUpdate, Readiness, WorkflowState
from nodes.models import ModelSource, ask
from nodes.progress import phase
from nodes.workspace import context_of
from prompts import load_prompt

DIFF_CHARS = 6000


def _validation_text(state: WorkflowState) -> dict[str, Any]:
    validation = dict(state.get("validation") or {})
    validation["checks"] = [{**c, "output_tail": c["output_tail"][-600:]}
                            for c in validation.get("checks", [])]
    return validation


@phase("audit")
async def audit(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
                models: ModelSource) -> Command[Any]:
    context = context_of(runtime)
    if not context.runs(7):
        return Command(goto="document")
    prompt = load_prompt("phases/audit").render(
        scope=state.get("scope", {}),
        diff=(state.get("changes") or {}).get("diff", "")[:DIFF_CHARS] or "(no change)",
        validation=_validation_text(state))
    report, evidence = await ask(models.get(context), AuditReport, prompt, phase="audit")
    update: dict[str, Any] = {"audit": report.model_dump(), "evidence": [evidence]}
    loops = state.get("audit_loops", 0)
    if report.replan and report.lessons and loops < settings().workflow.max_audit_loops:
        return Command(goto="plan", update={
            **update, "audit_loops": loops + 1,
            "lessons": [*(state.get("lessons") or []), *report.lessons]})
    return Command(goto="document", update=update)


@phase("document")
async def document(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
                   models: ModelSource) -> dict[str, Any]:
    context = context_of(runtime)
    if not context.runs(8):
        return {}
    prompt = load_prompt("phases/document").render(
        scope=state.get("scope", {}), files=(state.get("applied") or {}).get("paths", []),
        audit=state.get("audit", {}))
    docs, evidence = await ask(models.get(context), DocUpdate, prompt, phase="document")
    return {"docs": docs.model_dump(), "evidence": [evidence]}


@phase("readiness")
async def readiness(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
                    models: ModelSource) -> dict[str, Any]:
    context = context_of(runtime)
    if not context.runs(9):
        return {}
    prompt = load_prompt("phases/readiness").render(
        scope=state.get("scope", {}), validation=_validation_text(state),
        audit=state.get("audit", {}))
    summary, evidence = await ask(models.get(context), Readiness, prompt, phase="readiness")
    return {"readiness": summary.model_dump(), "evidence": [evidence]}

"""Phase 2: a structured plan of streams, each with a role, focus, files and checks."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from graph.context import PolicyFactory, WorkflowContext
from graph.phases import PLAN
from graph.state import Override, Plan, Stream, WorkflowState
from localagent.security import PolicyDenied, SecurityPolicy
from nodes.answers import marked
from nodes.model_calls import Ask, ModelSource
from nodes.progress import phase
from nodes.runnable import Steps
from nodes.workspace import context_of
from prompts import load_prompt, roles


def findings_of(state: WorkflowState) -> list[str]:
    out: list[str] = []
    for result in state.get("research") or []:
        if result["status"] == "ok":
            out.append(f"[{result['stream']}] {result['summary']}")
            out.extend(f"[{result['stream']}] {f}" for f in result["findings"])
        else:
            out.append(f"[{result['stream']}] research failed: {result['error']}")
    return out


def stream_limit(context: WorkflowContext) -> int:
    """Streams a plan may have: two waves of ``max_parallel_agents``, and never fewer than
    four (a model that answers with dozens does not get dozens of branches)."""
    return max(4, context.max_parallel_agents * 2)


def tidy(plan: Plan, state: WorkflowState, policy: SecurityPolicy, limit: int) -> Plan:
    """Unique ids, known roles, workspace files only, dependencies on earlier streams only,
    at most ``limit`` streams."""
    known = roles(state["workspace"])
    streams: list[Stream] = []
    for stream in plan.streams[:limit]:
        slug = re.sub(r"[^a-z0-9-]+", "-", stream.id.lower()).strip("-") or "stream"
        while slug in {s.id for s in streams}:
            slug += "-2"
        files = []
        for path in stream.files:
            try:
                files.append(policy.workspace.relative(path))
            except PolicyDenied:
                continue
        earlier = {s.id for s in streams}
        streams.append(stream.model_copy(update={
            "id": slug, "role": stream.role if stream.role in known else "backend-engineer",
            "files": files, "depends_on": [d for d in stream.depends_on if d in earlier]}))
    if not streams:
        scope = state.get("scope", {})
        streams = [Stream(id="main", focus=scope.get("summary") or state["request"],
                          acceptance_checks=scope.get("acceptance_checks", []))]
    return Plan(summary=plan.summary, streams=streams)


def _prompt(state: WorkflowState, context: WorkflowContext) -> str:
    return load_prompt(PLAN.prompt).render(
        max_streams=stream_limit(context),
        roles=", ".join(roles(state["workspace"])), scope=state.get("scope", {}),
        findings=findings_of(state), lessons=state.get("lessons") or [])


def _fresh() -> dict[str, Any]:
    """A new plan's streams start undone, without proposals."""
    return {"done_streams": Override([]), "execute_results": Override([])}


def _unplanned(state: WorkflowState) -> dict[str, Any]:
    return {"plan": Plan().model_dump(), **_fresh()}


@phase(PLAN, skipped=_unplanned)
def make_plan(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
              models: ModelSource, policies: PolicyFactory) -> Steps:
    context = context_of(runtime)
    plan, activity = yield Ask(models.get(context), Plan, _prompt(state, context),
                               phase="plan")
    tidied = tidy(plan, state, policies(state["workspace"], context), stream_limit(context))
    return {"plan": marked(tidied, activity), "activity": [activity], **_fresh()}

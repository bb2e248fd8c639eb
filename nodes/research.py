"""Phase 1: read-only research branches, one per area, fanned out with Send."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import WorkflowContext
from graph.events import emit
from graph.phases import RESEARCH
from graph.state import Override, ScopeState, WorkflowState
from nodes.workspace import context_of
from prompts import load_prompt

# What is researched when the scope names no areas, in priority order.
AREAS = {
    "codebase": "the code that implements what the request is about",
    "tests": "the tests, how they are run, and which ones cover this",
    "config": "configuration, dependencies and build files that matter here",
    "docs": "the README and docs that describe this behaviour",
}
RESEARCHER = "codebase-research-analyst"


def start(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
    """Clear earlier research (a validation loop starts over with the failure as input)."""
    emit(runtime, "phase_started" if context_of(runtime).runs(RESEARCH) else "phase_skipped",
         phase=RESEARCH.name)
    return {"research": Override([])}


def areas_of(scope: ScopeState) -> dict[str, str]:
    """The scope's research areas by a short unique name (the branch's stream), else the
    default ones."""
    named: dict[str, str] = {}
    for area in scope.get("research_areas") or []:
        if not area.strip():
            continue
        slug = "-".join(re.findall(r"[a-z0-9]+", area.lower())[:4])[:40] or "area"
        name, n = slug, 2
        while name in named:
            name, n = f"{slug}-{n}", n + 1
        named[name] = area.strip()
    return named or dict(AREAS)


def fan_out(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> list[Send] | str:
    """One branch per area, the first ``max_parallel_agents`` of them (most important
    first)."""
    context = context_of(runtime)
    if not context.runs(RESEARCH):
        return "plan"
    failure = state.get("validation_failure")
    if failure:
        areas = {"failure": "why validation failed:\n" + failure}
    else:
        areas = dict(list(areas_of(state.get("scope", {})).items())
                     [:max(1, context.max_parallel_agents)])
    prompt = load_prompt(RESEARCH.prompt)
    return [Send("research_agent", {
        "phase": "research", "stream": name, "role": RESEARCHER,
        "workspace": state["workspace"],
        "task": prompt.render(area=area, scope=state.get("scope", {}),
                              extra=f"The request: {state['request']}")})
        for name, area in areas.items()]

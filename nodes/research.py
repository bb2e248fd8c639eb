"""Phase 1: read-only research branches, one per area, fanned out with Send."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import WorkflowContext
from graph.events import emit
from graph.phases import RESEARCH
from graph.state import Override, WorkflowState
from nodes.workspace import context_of
from prompts import load_prompt

# In priority order: with fewer parallel agents, the first areas are researched.
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


def fan_out(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> list[Send] | str:
    context = context_of(runtime)
    if not context.runs(RESEARCH):
        return "plan"
    failure = state.get("validation_failure")
    if failure:
        areas = {"failure": "why validation failed:\n" + failure}
    else:
        areas = dict(list(AREAS.items())[:max(1, context.max_parallel_agents)])
    prompt = load_prompt(RESEARCH.prompt)
    return [Send("research_agent", {
        "phase": "research", "stream": name, "role": RESEARCHER,
        "workspace": state["workspace"],
        "task": prompt.render(area=area, scope=state.get("scope", {}),
                              extra=f"The request: {state['request']}")})
        for name, area in areas.items()]

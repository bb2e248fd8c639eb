"""Phase 4: one agent branch per stream, in waves of at most ``max_parallel_agents`` whose
dependencies are done; branches propose edits, they do not write."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import WorkflowContext
from graph.events import emit
from graph.phases import EXECUTE
from graph.state import WorkflowState
from nodes.workspace import context_of
from prompts import load_prompt


def next_wave(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
    """Each pass through ``execute`` (before ``dispatch`` sends the next wave) reports how
    many streams are done."""
    done = set(state.get("done_streams") or [])
    total = len(state.get("plan", {}).get("streams", []))
    if context_of(runtime).runs(EXECUTE):
        emit(runtime, "execute_progress", done=len(done), total=total)
    else:
        emit(runtime, "phase_skipped", phase=EXECUTE.name)
    return {}


def dispatch(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> list[Send] | str:
    context = context_of(runtime)
    streams = state.get("plan", {}).get("streams", [])
    if not context.runs(EXECUTE) or not streams:
        return "merge"
    done = set(state.get("done_streams") or [])
    waiting = [s for s in streams if s["id"] not in done]
    ready = [s for s in waiting if all(d in done for d in s["depends_on"])]
    if not ready:
        return "merge"
    prompt = load_prompt(EXECUTE.prompt)
    contexts = state.get("stream_contexts") or {}
    return [Send("execute_agent", {
        "phase": "execute", "stream": s["id"], "role": s["role"],
        "workspace": state["workspace"],
        "task": prompt.render(focus=s["focus"], checks=s["acceptance_checks"],
                              context=contexts.get(s["id"], "(none)"))})
        for s in ready[:context.max_parallel_agents]]

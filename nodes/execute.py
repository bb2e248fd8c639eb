"""Phase 4: one agent branch per stream, in waves of at most ``max_parallel_agents`` whose
dependencies are done; branches propose edits, they do not write."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.context import WorkflowContext
from graph.events import emit
from graph.state import WorkflowState
from nodes.workspace import context_of
from prompts import load_prompt


def gate(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
    done = set(state.get("done_streams") or [])
    total = len(state.get("plan", {}).get("streams", []))
    if context_of(runtime).runs(4):
        emit(runtime, "execute_progress", done=len(done), total=total)
    else:
        emit(runtime, "phase_skipped", phase="execute")
    return {}


def dispatch(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> list[Send] | str:
    context = context_of(runtime)
    streams = state.get("plan", {}).get("streams", [])
    if not context.runs(4) or not streams:
        return "merge"
    done = set(state.get("done_streams") or [])
    waiting = [s for s in streams if s["id"] not in done]
    ready = [s for s in waiting if all(d in done for d in s["depends_on"])]
    if not ready:
        return "merge"
    prompt = load_prompt("phases/execute")
    contexts = state.get("contexts") or {}
    return [Send("execute_agent", {
        "phase": "execute", "stream": s["id"], "role": s["role"],
        "workspace": state["workspace"],
        "task": prompt.render(focus=s["focus"], checks=s["acceptance_checks"],
                              context=contexts.get(s["id"], "(none)"))})
        for s in ready[:context.max_parallel_agents]]

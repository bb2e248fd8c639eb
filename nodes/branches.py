"""One agent branch (a ``Send`` to the agent subgraph) from start to finish: it announces
itself, keeps to its time budget, and ends in a result under the workflow's key for its phase.
A step that fails or runs out of time ends the branch with a failed result instead of failing
the run. These are parts of the agent's own steps (``nodes.agent_steps``), not nodes: every
node of a branch is a task and a checkpoint, and branches run by the dozen."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from graph.context import WorkflowContext
from graph.events import emit
from graph.state import AgentResult, AgentState
from nodes.runnable import Steps, steps_of
from nodes.workspace import context_of

BRANCH_SECONDS = 900.0
RESULT_KEYS = {"research": "research", "execute": "execute_results"}


def start(state: AgentState, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
    """The branch's first step announces it and fixes its step limit."""
    emit(runtime, "branch_started", phase=state["phase"], stream=state["stream"],
         role=state["role"])
    return {"step_limit": context_of(runtime).agent_step_limit}


def time_left(state: AgentState) -> float:
    """Seconds of the branch's budget not yet spent in its steps (a model call gets at most
    this long; time the process was not running, e.g. before a resume, does not count)."""
    return max(0.0, BRANCH_SECONDS - state.get("seconds", 0.0))


def step(fn: Callable[..., Any]) -> Callable[..., Steps]:
    """Wrap an agent step: its time is added to the branch's, and an exception (a provider
    outage, a timeout) becomes the branch's ``error``, which routes it to its end."""

    @functools.wraps(fn)
    def run(state: AgentState, runtime: Runtime[WorkflowContext], **kwargs: Any) -> Steps:
        started = time.monotonic()
        try:
            if time_left(state) <= 0:
                raise TimeoutError(f"the branch used its {BRANCH_SECONDS:g} s")
            update = dict((yield from steps_of(fn(state, runtime, **kwargs))))
        except GraphBubbleUp:
            raise
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            update = {"error": f"{reason}: {exc}"[:1000] if str(exc) else reason}
        update["seconds"] = round(state.get("seconds", 0.0) + time.monotonic() - started, 3)
        return update

    return run


def finish(state: AgentState, runtime: Runtime[WorkflowContext],
           update: dict[str, Any]) -> dict[str, Any]:
    """``update`` (the last step's) plus the branch's result (failed if a step failed) where
    the workflow collects it."""
    phase, stream = state["phase"], state["stream"]
    error = update.get("error") or state.get("error")
    if error or not update.get("result"):
        result = AgentResult(stream=stream, role=state["role"], phase=phase, status="failed",
                             error=error or "the agent ended without a result")
    else:
        result = AgentResult.model_validate(update["result"])
    emit(runtime, "branch_finished", phase=phase, stream=stream, status=result.status,
         error=result.error, degenerate=result.degenerate)
    dumped = result.model_dump()
    timing = {"kind": "branch", "phase": phase, "stream": stream, "status": result.status,
              "seconds": update.get("seconds", state.get("seconds", 0.0)),
              "ended_at": time.time()}
    ending: dict[str, Any] = {**update, "result": dumped, RESULT_KEYS[phase]: [dumped],
                              "activity": [*update.get("activity", []), timing]}
    if phase == "execute":
        ending["done_streams"] = [stream]
    return ending

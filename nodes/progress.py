"""Phase timing and progress events (see ``graph.events``), for the CLI and Studio."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.events import emit
from graph.phases import Phase
from nodes.runnable import Steps, steps_of

Node = Callable[..., Any]


def phase(registered: Phase, *, skipped: Callable[[Any], Any] | None = None
          ) -> Callable[[Node], Callable[..., Steps]]:
    """Wrap the node of a registered phase (plain or yielding model requests; see
    ``nodes.runnable``): phase started/finished events, a timing entry in the activity, the
    report written on failure; when the run leaves the phase out, a ``phase_skipped`` event
    and ``skipped(state)`` (nothing by default) instead of the node."""
    name = registered.name

    def wrap(node: Node) -> Callable[..., Steps]:
        @functools.wraps(node)
        def run(state: dict[str, Any], runtime: Runtime[Any], **kwargs: Any) -> Steps:
            context = runtime.context
            if context is not None and not context.runs(registered):
                emit(runtime, "phase_skipped", phase=name)
                return skipped(state) if skipped is not None else {}
            emit(runtime, "phase_started", phase=name)
            started = time.monotonic()
            try:
                update = yield from steps_of(node(state, runtime, **kwargs))
            except GraphBubbleUp:
                raise  # an interrupt or a command for the parent: control flow
            except Exception as exc:
                emit(runtime, "phase_failed", phase=name, error=str(exc)[:500])
                from nodes.report import write_report

                write_report(state, status="failed",  # type: ignore[arg-type]
                             error=f"{name}: {exc}")
                raise
            seconds = round(time.monotonic() - started, 3)
            emit(runtime, "phase_finished", phase=name, seconds=seconds)
            timing = {"kind": "timing", "phase": name, "seconds": seconds}
            if isinstance(update, Command):
                values = dict(update.update or {})
                values["activity"] = [*values.get("activity", []), timing]
                return Command(goto=update.goto, update=values)
            return {**update, "activity": [*update.get("activity", []), timing]}

        return run

    return wrap

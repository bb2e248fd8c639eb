"""Progress events (custom stream mode) and phase timing, for the CLI and Studio."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

Node = Callable[..., Any]


def emit(runtime: Runtime[Any], event: str, **data: Any) -> None:
    """Send one progress event to whoever streams with ``stream_mode="custom"``."""
    with contextlib.suppress(Exception):
        runtime.stream_writer({"event": event, **data})


def phase(name: str, number: int) -> Callable[[Node], Node]:
    """Wrap a node: phase started/finished events and a timing entry in the evidence.

    A sync node (file and command work) runs in a worker thread, so the event loop never
    blocks; an async node (a model call) is awaited."""

    def wrap(node: Node) -> Node:
        is_async = inspect.iscoroutinefunction(node)

        async def call(state: dict[str, Any], runtime: Runtime[Any], **kwargs: Any) -> Any:
            if is_async:
                return await node(state, runtime, **kwargs)
            return await asyncio.to_thread(node, state, runtime, **kwargs)

        @functools.wraps(node)
        async def run(state: dict[str, Any], runtime: Runtime[Any], **kwargs: Any) -> Any:
            context = runtime.context
            if context is not None and not context.runs(number):
                emit(runtime, "phase_skipped", phase=name)  # the node returns its defaults
                return await call(state, runtime, **kwargs)
            emit(runtime, "phase_started", phase=name)
            started = time.monotonic()
            try:
                update = await call(state, runtime, **kwargs)
            except Exception as exc:
                if type(exc).__name__ in ("GraphInterrupt", "ParentCommand"):
                    raise  # control flow, not a failure
                emit(runtime, "phase_failed", phase=name, error=str(exc)[:500])
                from nodes.report import write_report

                await asyncio.to_thread(write_report, state,  # type: ignore[arg-type]
                                        status="failed", error=f"{name}: {exc}")
                raise
            seconds = round(time.monotonic() - started, 3)
            emit(runtime, "phase_finished", phase=name, seconds=seconds)
            timing = {"kind": "timing", "phase": name, "seconds": seconds}
            if isinstance(update, Command):
                values = dict(update.update or {})
                values["evidence"] = [*values.get("evidence", []), timing]
                return Command(goto=update.goto, update=values)
            return {**update, "evidence": [*update.get("evidence", []), timing]}

        return run

    return wrap

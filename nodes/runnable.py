"""A node written once, run by ``invoke``/``stream`` and ``ainvoke``/``astream`` alike.

A node is a plain function ``(state, runtime) -> update``. A node that calls a model is a
generator: it yields each ``ModelRequest`` and receives the answer (or the call's exception,
raised at the ``yield``). ``node()`` turns either into a LangGraph runnable with

- a sync implementation: the code runs in LangGraph's worker thread and requests ``invoke``
  the model;
- an async implementation: requests ``ainvoke`` the model on the event loop (cancellable,
  bounded by the request's ``timeout``), and the code between them runs in a worker thread,
  so file and command work never blocks the loop (``langgraph dev`` refuses blocking calls).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator
from typing import Any, Protocol, cast

from langgraph._internal._runnable import RunnableCallable  # what langgraph.prebuilt uses
from langgraph.runtime import Runtime


class ModelRequest(Protocol):
    """One model call a node yields; its runner performs it, sync or async."""

    timeout: float | None

    def invoke(self) -> Any: ...

    async def ainvoke(self) -> Any: ...


Steps = Generator[ModelRequest, Any, Any]


def steps_of(result: Any) -> Steps:
    """``yield from steps_of(node(...))`` delegates to a generator node and passes a plain
    node's update through, so wrappers handle both kinds alike."""
    if inspect.isgenerator(result):
        return (yield from result)
    return result


def _advance(steps: Steps, answer: Any, error: BaseException | None
             ) -> tuple[bool, Any]:
    """Run the node to its next request: (False, request), or (True, update) at its end."""
    try:
        if error is not None:
            return False, steps.throw(error)
        return False, steps.send(answer)
    except StopIteration as stop:  # never raised across a thread: futures refuse it
        return True, stop.value


def run_sync(result: Any) -> Any:
    if not inspect.isgenerator(result):
        return result
    steps = cast(Steps, result)
    answer: Any = None
    error: BaseException | None = None
    while True:
        done, value = _advance(steps, answer, error)
        if done:
            return value
        try:
            answer, error = value.invoke(), None
        except Exception as exc:  # the node decides what a failed call means
            answer, error = None, exc


async def run_async(fn: Callable[..., Any], state: Any, runtime: Runtime[Any],
                    bound: dict[str, Any]) -> Any:
    if not inspect.isgeneratorfunction(fn):  # a plain node: all of it in a worker thread
        return await asyncio.to_thread(fn, state, runtime, **bound)
    result = fn(state, runtime, **bound)  # creating the generator runs none of its code
    if not inspect.isgenerator(result):
        return result
    steps = cast(Steps, result)
    answer: Any = None
    error: BaseException | None = None
    try:
        while True:
            done, value = await asyncio.to_thread(_advance, steps, answer, error)
            if done:
                return value
            try:
                answer, error = await asyncio.wait_for(value.ainvoke(), value.timeout), None
            except Exception as exc:
                answer, error = None, exc
    finally:
        steps.close()


def node(fn: Callable[..., Any], **bound: Any) -> RunnableCallable:
    """``fn`` (with ``bound`` keyword arguments, e.g. the model source) as a graph node."""

    def sync(state: Any, runtime: Runtime[Any]) -> Any:
        return run_sync(fn(state, runtime, **bound))

    async def run(state: Any, runtime: Runtime[Any]) -> Any:
        return await run_async(fn, state, runtime, bound)

    return RunnableCallable(sync, run, name=fn.__name__, trace=False)  # as add_node does

"""One attempt at one candidate: the chat model's own ``_generate``/``_stream`` is called
directly, skipping a second round of LangChain's per-call machinery (the wrapper already ran
it once)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from providers.engine import Call
from providers.streaming import Head, aopen_stream, call_target, open_stream


def as_result(message: BaseMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def call_once(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> ChatResult:
    model, bound = call_target(action.candidate.runnable)
    if model is None:
        return as_result(action.candidate.runnable.invoke(action.messages, stop=stop, **kwargs))
    return model._generate(action.messages, stop=stop, **{**bound, **kwargs})


async def acall(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]
                 ) -> ChatResult:
    model, bound = call_target(action.candidate.runnable)
    if model is None:
        message = await action.candidate.runnable.ainvoke(action.messages, stop=stop, **kwargs)
        return as_result(message)
    return await model._agenerate(action.messages, stop=stop, **{**bound, **kwargs})


def open_once(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    model, bound = call_target(action.candidate.runnable)
    return open_stream(model, action.candidate.runnable, action.messages, stop,
                       {**bound, **kwargs})


async def aopen(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    model, bound = call_target(action.candidate.runnable)
    return await aopen_stream(model, action.candidate.runnable, action.messages, stop,
                              {**bound, **kwargs})

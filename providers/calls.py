"""One attempt at one candidate: the chat model's own ``_generate``/``_stream`` is called
directly, skipping a second round of LangChain's per-call machinery (the wrapper already ran
it once)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from providers.engine import Call
from providers.streaming import Head, aopen_stream, open_stream


def as_result(message: BaseMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _merged(bound: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**bound, **kwargs} if bound else kwargs


def call_once(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> ChatResult:
    cand = action.candidate
    if cand.direct is None:
        return as_result(cand.runnable.invoke(action.messages, stop=stop, **kwargs))
    return cand.direct._generate(action.messages, stop=stop, **_merged(cand.bound, kwargs))


async def acall(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]
                 ) -> ChatResult:
    cand = action.candidate
    if cand.direct is None:
        return as_result(await cand.runnable.ainvoke(action.messages, stop=stop, **kwargs))
    return await cand.direct._agenerate(action.messages, stop=stop,
                                        **_merged(cand.bound, kwargs))


def open_once(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    cand = action.candidate
    return open_stream(cand.direct, cand.runnable, action.messages, stop,
                       _merged(cand.bound, kwargs))


async def aopen(action: Call, *, stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    cand = action.candidate
    return await aopen_stream(cand.direct, cand.runnable, action.messages, stop,
                              _merged(cand.bound, kwargs))

"""Opening a provider's stream up to its first real content: the commit point for failover."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk


def can_stream(model: BaseChatModel) -> bool:
    return type(model)._stream is not BaseChatModel._stream


def can_astream(model: BaseChatModel) -> bool:
    return can_stream(model) or type(model)._astream is not BaseChatModel._astream


def has_content(chunk: ChatGenerationChunk) -> bool:
    message = chunk.message
    if message.content:
        return True
    return bool(getattr(message, "tool_call_chunks", None))


def to_chunk(message: BaseMessage) -> AIMessageChunk:
    """A whole answer as one stream chunk (for models without streaming, and cache replay)."""
    if isinstance(message, AIMessageChunk):
        return message
    calls = getattr(message, "tool_calls", None) or []
    return AIMessageChunk(
        content=message.content,
        additional_kwargs=dict(message.additional_kwargs),
        response_metadata=dict(message.response_metadata),
        usage_metadata=getattr(message, "usage_metadata", None),
        id=message.id,
        tool_call_chunks=[
            tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c.get("id"), index=i)
            for i, c in enumerate(calls)
        ],
    )


def aggregate(chunks: list[ChatGenerationChunk]) -> AIMessage:
    """The final message of a stream (an empty stream is an empty answer)."""
    if not chunks:
        return AIMessage(content="")
    merged = functools.reduce(operator.add, (c.message for c in chunks))
    if not isinstance(merged, AIMessageChunk):
        return AIMessage(content=merged.content)
    data = merged.model_dump(exclude={"type", "tool_call_chunks", "chunk_position"})
    data["tool_calls"] = merged.tool_calls
    data["invalid_tool_calls"] = merged.invalid_tool_calls
    return AIMessage(**data)


@dataclass
class Head:
    """Chunks read up to and including the first with content, and the rest of the stream."""

    prefix: list[ChatGenerationChunk]
    rest: Any  # Iterator or AsyncIterator of ChatGenerationChunk
    extra: dict[str, Any] = field(default_factory=dict)


def open_stream(model: BaseChatModel | None, runnable: Any, messages: list[BaseMessage],
                stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    if model is not None and can_stream(model):
        source: Iterator[ChatGenerationChunk] = model._stream(messages, stop=stop, **kwargs)
    else:
        if model is not None:
            answer = model._generate(messages, stop=stop, **kwargs).generations[0].message
        else:
            answer = runnable.invoke(messages, stop=stop, **kwargs)
        source = iter([ChatGenerationChunk(message=to_chunk(answer))])
    prefix = []
    for chunk in source:
        prefix.append(chunk)
        if has_content(chunk):
            return Head(prefix, source)
    return Head(prefix, iter(()))


async def aopen_stream(model: BaseChatModel | None, runnable: Any, messages: list[BaseMessage],
                       stop: list[str] | None, kwargs: dict[str, Any]) -> Head:
    if model is not None and can_astream(model):
        source: AsyncIterator[ChatGenerationChunk] = model._astream(messages, stop=stop,
                                                                      **kwargs)
    else:
        if model is not None:
            result = await model._agenerate(messages, stop=stop, **kwargs)
            answer = result.generations[0].message
        else:
            answer = await runnable.ainvoke(messages, stop=stop, **kwargs)
        source = _aiter_one(ChatGenerationChunk(message=to_chunk(answer)))
    prefix = []
    async for chunk in source:
        prefix.append(chunk)
        if has_content(chunk):
            return Head(prefix, source)
    return Head(prefix, _aiter_none())


async def _aiter_one(chunk: ChatGenerationChunk) -> AsyncIterator[ChatGenerationChunk]:
    yield chunk


async def _aiter_none() -> AsyncIterator[ChatGenerationChunk]:
    return
    yield  # pragma: no cover

"""Streaming commit point, async interruption, tool-call chunks."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from providers.errors import StreamInterrupted
from providers.policy import ProviderPolicy, RetryPolicy
from providers.resilient import ResilientChatModel
from tests.fakes import ScriptedChatModel

ONCE = ProviderPolicy(retry=RetryPolicy(max_retries=0))


def chain(*models) -> ResilientChatModel:
    return ResilientChatModel(models=list(models), policy=ONCE, cache_policy={"enabled": False})


async def test_async_stream_failure_after_content_is_typed_and_not_retried() -> None:
    primary = ScriptedChatModel(model_name="p", script=["a b c d"], stream_fail_after=2)
    backup = ScriptedChatModel(model_name="b", script=["backup"])
    model = chain(primary, backup)
    seen: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for chunk in model.astream("hi"):
            seen.append(str(chunk.content))
    assert "".join(seen) == "a b"
    assert info.value.provider == "scripted:p"
    assert backup.calls == []
    assert model.usage()["scripted:p"]["failures"] == 1


async def test_async_stream_failure_before_content_falls_over() -> None:
    primary = ScriptedChatModel(model_name="p", script=["a b"], stream_fail_after=0)
    backup = ScriptedChatModel(model_name="b", script=["from backup"])
    text = "".join([str(c.content) async for c in chain(primary, backup).astream("hi")])
    assert text == "from backup"


def test_tool_call_chunks_stream_from_a_model_without_streaming() -> None:
    class NoStream(ScriptedChatModel):
        _stream = ScriptedChatModel.__mro__[1]._stream  # BaseChatModel's: not implemented
        _astream = ScriptedChatModel.__mro__[1]._astream

    call = AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "a.py"}, "id": "1"}])
    model = chain(NoStream(script=[call]))
    chunks = list(model.stream("read it"))
    final = chunks[0]
    for chunk in chunks[1:]:
        final = final + chunk
    assert final.tool_calls == [{"name": "read_file", "args": {"path": "a.py"}, "id": "1",
                                 "type": "tool_call"}]


def test_consumer_stopping_early_frees_a_half_open_trial() -> None:
    primary = ScriptedChatModel(model_name="p", script=["one two three"])
    model = chain(primary, ScriptedChatModel(model_name="b"))
    breaker = model.base_candidates()[0].breaker
    from providers.errors import ErrorKind

    breaker.record_failure(ErrorKind.TIMEOUT)
    breaker._opened_at -= 100
    stream = model.stream("hi")
    next(stream)
    stream.close()
    assert breaker.allow()  # the trial slot was given back

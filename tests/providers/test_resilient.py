"""Wrapper logic driven by scripted chat models."""

from __future__ import annotations

import asyncio
import functools
import operator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, create_model

from providers.errors import AllProvidersFailed, ContextOverflow, DeadlineExceeded
from providers.policy import LimitPolicy, Price, ProviderPolicy, RetryPolicy
from providers.resilient import ResilientChatModel
from tests.fakes import ScriptedChatModel

FAST = ProviderPolicy(retry=RetryPolicy(base_delay=0.001, max_delay=0.002))
NO_CACHE = {"enabled": False}


def chain(*models, **kwargs) -> ResilientChatModel:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("cache_policy", NO_CACHE)
    return ResilientChatModel(models=list(models), **kwargs)


def outcomes(message) -> list[tuple[str, str]]:
    return [(a["provider"], a["outcome"])
            for a in message.response_metadata["localagent"]["attempts"]]


def test_one_line_construction_and_fallback_order() -> None:
    a = ScriptedChatModel(model_name="a", script=[RuntimeError("boom")])
    b = ScriptedChatModel(model_name="b", script=["from b"])
    answer = ResilientChatModel(models=[a, b], cache_policy=NO_CACHE).invoke("hi")
    assert answer.content == "from b"
    assert outcomes(answer) == [("scripted:a", "unknown"), ("scripted:b", "ok")]


def test_content_policy_is_not_retried_but_falls_over() -> None:
    a = ScriptedChatModel(model_name="a", script=[ValueError("blocked by content filter")])
    b = ScriptedChatModel(model_name="b", script=["fine"])
    answer = chain(a, b).invoke("hi")
    assert outcomes(answer)[0] == ("scripted:a", "content_policy")
    assert len(a.calls) == 1


def test_async_deadline_covers_retries_and_fallbacks() -> None:
    slow_a = ScriptedChatModel(model_name="a", delay=0.3, script=[ConnectionError("reset")])
    slow_b = ScriptedChatModel(model_name="b", delay=0.3)
    model = chain(slow_a, slow_b, deadline=0.4)

    async def run() -> None:
        await model.ainvoke("hi")

    with pytest.raises(DeadlineExceeded) as info:
        asyncio.run(run())
    assert [a.outcome for a in info.value.attempts][-1] == "deadline"
    # the deadline cut the call: not the provider's fault
    assert model.base_candidates()[1].breaker.state.value == "closed"


def test_cancellation_does_not_count_against_the_breaker() -> None:
    a = ScriptedChatModel(model_name="a", delay=5)
    model = chain(a)

    async def run() -> None:
        task = asyncio.create_task(model.ainvoke("hi"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    snap = model.base_candidates()[0].breaker.snapshot()
    assert snap["state"] == "closed" and snap["failures"] == 0


def test_half_open_sends_one_trial_and_others_to_the_backup() -> None:
    primary = ScriptedChatModel(model_name="p", delay=0.2, script=["primary"])
    backup = ScriptedChatModel(model_name="b", script=["backup"])
    model = chain(primary, backup)
    breaker = model.base_candidates()[0].breaker
    breaker.record_failure(__import__("providers.errors").errors.ErrorKind.TIMEOUT)
    breaker._opened_at -= 100  # the open period is over: next caller is the trial

    async def run() -> list[str]:
        answers = await asyncio.gather(*(model.ainvoke(f"q{i}") for i in range(5)))
        return [str(a.content) for a in answers]

    answers = asyncio.run(run())
    assert answers.count("primary") == 1 and answers.count("backup") == 4
    assert breaker.state.value == "closed"


def test_rate_limit_wait_over_bound_falls_over() -> None:
    limited = ProviderPolicy(limits=LimitPolicy(rpm=1, max_wait_seconds=0.5))
    a = ScriptedChatModel(model_name="a", script=["from a"])
    b = ScriptedChatModel(model_name="b", script=["from b"])
    model = chain(a, b, policies={"scripted:a": limited})
    assert model.invoke("1").content == "from a"
    second = model.invoke("2")
    assert second.content == "from b"
    assert outcomes(second)[0] == ("scripted:a", "rate_limit_wait")


def test_context_window_trims_history_before_the_call() -> None:
    small = ScriptedChatModel(model_name="small", script=["ok"])
    model = chain(small, policy=FAST.model_copy(update={"context_window": 300,
                                                         "output_reserve": 50}))
    history = [SystemMessage("rules")]
    for i in range(20):
        history += [HumanMessage(f"question {i} " + "x" * 100),
                    AIMessage("", tool_calls=[{"name": "look", "args": {"i": i}, "id": f"c{i}"}]),
                    ToolMessage("y" * 100, tool_call_id=f"c{i}"),
                    AIMessage(f"answer {i}")]
    history.append(HumanMessage("final question"))
    model.invoke(history)
    sent = small.calls[0]
    assert sent[0].content == "rules"
    assert sent[-1].content == "final question"
    assert len(sent) < len(history)
    assert sent[1].type == "human"  # never starts mid tool exchange
    for i, message in enumerate(sent):
        if isinstance(message, ToolMessage):
            assert any(tc["id"] == message.tool_call_id for tc in sent[i - 1].tool_calls)


def test_too_large_for_one_window_moves_to_a_larger_one() -> None:
    tiny = ScriptedChatModel(model_name="tiny", script=["tiny"])
    big = ScriptedChatModel(model_name="big", script=["big"])
    model = chain(tiny, big, policies={
        "scripted:tiny": FAST.model_copy(update={"context_window": 100, "output_reserve": 10}),
        "scripted:big": FAST.model_copy(update={"context_window": 100_000})})
    answer = model.invoke("z" * 2000)
    assert answer.content == "big"
    assert outcomes(answer)[0] == ("scripted:tiny", "context_overflow")
    assert tiny.calls == []


def test_provider_overflow_error_trims_and_retries_once() -> None:
    model_a = ScriptedChatModel(model_name="a", script=[
        ContextOverflow("maximum context length exceeded"), "after trim"])
    model = chain(model_a)
    history = [HumanMessage("old " * 200), AIMessage("old answer"), HumanMessage("new")]
    answer = model.invoke(history)
    assert answer.content == "after trim"
    assert len(model_a.calls[1]) < len(model_a.calls[0])
    assert outcomes(answer) == [("scripted:a", "context_overflow"), ("scripted:a", "ok")]


def test_usage_and_cost_aggregated_per_provider() -> None:
    a = ScriptedChatModel(model_name="priced", script=["x"])
    model = chain(a, prices={"priced": Price(input=1_000_000, output=2_000_000)})
    answer = model.invoke("hi")
    model.invoke("again")
    usage = model.usage()["scripted:priced"]
    assert usage["requests"] == 2
    assert usage["input_tokens"] == 20 and usage["output_tokens"] == 10
    assert usage["cost"] == pytest.approx(2 * (10 * 1 + 5 * 2))
    assert answer.response_metadata["localagent"]["cost"] == pytest.approx(20)


def test_sync_call_from_inside_a_running_loop() -> None:
    model = chain(ScriptedChatModel(script=["sync ok"]))

    async def inside() -> str:
        return str(model.invoke("hi").content)

    assert asyncio.run(inside()) == "sync ok"


def test_empty_stream_is_a_valid_answer() -> None:
    model = chain(ScriptedChatModel(script=[""]))
    chunks = list(model.stream("hi"))
    final = functools.reduce(operator.add, chunks)
    assert final.content == ""
    assert final.response_metadata["localagent"]["provider"] == "scripted:scripted"


class Weather(BaseModel):
    city: str
    celsius: int


def test_structured_output_falls_over_on_parse_failure() -> None:
    bad = ScriptedChatModel(model_name="bad", script=[AIMessage("", tool_calls=[
        {"name": "Weather", "args": {"city": "Oslo"}, "id": "1"}])])
    good = ScriptedChatModel(model_name="good", script=[AIMessage("", tool_calls=[
        {"name": "Weather", "args": {"city": "Oslo", "celsius": -3}, "id": "1"}])])
    model = chain(bad, good, policy=ProviderPolicy(retry=RetryPolicy(max_retries=0)))
    result = model.with_structured_output(Weather).invoke("weather?")
    assert result == Weather(city="Oslo", celsius=-3)
    raw = model.with_structured_output(Weather, include_raw=True).invoke("weather?")
    assert raw["raw"].response_metadata["localagent"]["provider"] == "scripted:good"


def test_tools_bind_per_candidate_and_skip_those_without_tool_support() -> None:
    class NoTools(ScriptedChatModel):
        def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # type: ignore[override]
            raise NotImplementedError

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    plain = NoTools(model_name="plain", script=["no tools here"])
    capable = ScriptedChatModel(model_name="capable", script=[AIMessage("", tool_calls=[
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "t1"}])])
    bound = chain(plain, capable).bind_tools([add], tool_choice="any")
    answer = bound.invoke("1+2?")
    assert answer.tool_calls[0]["args"] == {"a": 1, "b": 2}
    assert outcomes(answer)[0] == ("scripted:plain", "skipped")
    assert plain.calls == []


def test_all_skipped_or_failed_raises_with_every_attempt() -> None:
    a = ScriptedChatModel(model_name="a", script=[PermissionError("403 forbidden")])
    with pytest.raises(AllProvidersFailed) as info:
        chain(a).invoke("hi")
    assert info.value.attempts[0].provider == "scripted:a"


def _turn_tools(workspace: str) -> list[StructuredTool]:
    """Tools as an agent builds them on every turn: new closures, new schema classes."""

    def read_file(path: str) -> str:
        """Read a text file in the workspace."""
        return f"{workspace}/{path}"

    def search_code(pattern: str, path: str = ".") -> str:
        """Search workspace files for a regular expression."""
        return f"{workspace}: {pattern} in {path}"

    return [StructuredTool.from_function(read_file), StructuredTool.from_function(search_code)]


def test_rebuilt_tools_with_the_same_schemas_reuse_one_binding() -> None:
    binds: list[list[str]] = []

    class Counting(ScriptedChatModel):
        def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # type: ignore[override]
            binds.append([t.name for t in tools])
            return super().bind_tools(tools, tool_choice=tool_choice, **kwargs)

    model = chain(Counting(script=["done"]))
    for turn in range(3):
        assert model.bind_tools(_turn_tools(f"/turn{turn}")).invoke("go").content == "done"
    assert binds == [["read_file", "search_code"]]

    def read_file(path: str, encoding: str = "utf-8") -> str:
        """Read a text file in the workspace."""
        return path

    model.bind_tools([StructuredTool.from_function(read_file)]).invoke("go")
    model.bind_tools(_turn_tools("/again"), tool_choice="read_file").invoke("go")
    assert len(binds) == 3  # another schema, another tool choice: bound anew


def test_tool_set_key_sees_into_nested_argument_models() -> None:
    from providers.candidates import tool_set_key

    def tool_for(fields: dict[str, Any]) -> StructuredTool:
        inner = create_model("Range", **fields)
        outer = create_model("Args", span=(inner, ...))
        return StructuredTool.from_function(lambda span: "", name="pick", description="Pick.",
                                            args_schema=outer)

    same = tool_set_key([tool_for({"start": (int, ...)})])
    assert tool_set_key([tool_for({"start": (int, ...)})]) == same
    assert tool_set_key([tool_for({"start": (int, ...), "end": (int, ...)})]) != same
    assert tool_set_key([{"type": "function", "function": {"name": "a"}}]) != same

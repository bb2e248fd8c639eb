"""How requests become grammar-constrained prompts for the local model, and answers messages."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from providers.local_prompt import (
    answer_schema,
    chat_messages,
    instructions,
    parse_answer,
    repair,
)


class Weather(BaseModel):
    """The weather in a city."""

    city: str = Field(description="the city")
    days: list[int] = Field(default_factory=list)


def read_file(path: str) -> str:
    """Read a file."""
    return path


TOOLS = [convert_to_openai_tool(read_file), convert_to_openai_tool(Weather)]


def test_auto_choice_allows_every_tool_or_a_final_answer() -> None:
    schema = answer_schema(TOOLS, None)
    assert schema is not None
    options = schema["anyOf"]
    assert [o["properties"].get("tool", {}).get("const") for o in options] == [
        "read_file", "Weather", None]
    assert options[2]["required"] == ["answer"]
    # closed objects and bounded strings/arrays, so a small model cannot ramble forever
    weather = options[1]["properties"]["arguments"]
    assert weather["additionalProperties"] is False
    assert weather["properties"]["days"]["maxItems"] == 6


def test_forced_choice_of_one_tool_has_no_way_out() -> None:
    schema = answer_schema(TOOLS, {"type": "function", "function": {"name": "Weather"}})
    assert schema is not None and "anyOf" not in schema
    assert schema["properties"]["tool"] == {"const": "Weather"}
    assert answer_schema(TOOLS, "none") is None
    assert answer_schema([], None) is None
    assert "Weather" in instructions(TOOLS, "any") and "answer" not in instructions(TOOLS, "any")


def test_messages_alternate_with_system_folded_and_tool_results_as_user_turns() -> None:
    call = {"name": "read_file", "args": {"path": "a.py"}, "id": "c1", "type": "tool_call"}
    turns = chat_messages([SystemMessage("be brief"), HumanMessage("hi"), HumanMessage("look"),
                           AIMessage("", tool_calls=[call]),
                           ToolMessage("print(1)", tool_call_id="c1"),
                           AIMessage("done")], extra_system="JSON only")
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[0]["content"] == "be brief\n\nJSON only\n\nhi\n\nlook"
    assert json.loads(turns[1]["content"]) == {"tool": "read_file",
                                               "arguments": {"path": "a.py"}}
    assert turns[2]["content"] == "Result of read_file:\nprint(1)"
    assert turns[-1]["content"] == "Continue."


def test_answers_become_tool_calls_or_text() -> None:
    called = parse_answer('{"tool": "read_file", "arguments": {"path": "x"}}', TOOLS)
    assert called.tool_calls[0]["name"] == "read_file"
    assert called.tool_calls[0]["args"] == {"path": "x"}
    assert parse_answer('{"answer": "all good"}', TOOLS).content == "all good"
    # cut short by max_tokens: closed where possible
    cut = parse_answer('{"tool": "read_file", "arguments": {"path": "src/ma', TOOLS)
    assert cut.tool_calls[0]["args"] == {"path": "src/ma"}
    assert parse_answer('{"tool": "read_f', TOOLS).content == '{"tool": "read_f'
    assert parse_answer('{"answer": "all good", "ext', TOOLS).content == "all good"
    assert parse_answer("plain", []).content == "plain"


# A grammar-valid answer cut by max_tokens anywhere, and what is recovered from it (the
# results the hand-written repair gave, which LangChain's partial-JSON parser gives too).
CUTS = [
    ('{"tool": "read_file", "arguments": {"path": "src/ma', {
        "tool": "read_file", "arguments": {"path": "src/ma"}}),
    ('{"tool": "read_f', {"tool": "read_f"}),
    ('{"answer": "all good", "ext', {"answer": "all good"}),
    ('{"a": [1, 2', {"a": [1, 2]}),
    ('{"a": [1, 2,', {"a": [1, 2]}),
    ('{"a": "x\\', {"a": "x"}),
    ('{"answer": "he said \\"hi', {"answer": 'he said "hi'}),
    ('{"a": 1, "b":', {"a": 1}),
    ('{"a":', {}),
    ('{"a": {"b": [{"c": "d', {"a": {"b": [{"c": "d"}]}}),
    ('{"tool": "x", "arguments": {"n": 12', {"tool": "x", "arguments": {"n": 12}}),
    ('{"a": [', {"a": []}),
    ("{", {}),
    ('{"arguments": {}, "tool": "read_file"', {"arguments": {}, "tool": "read_file"}),
]


@pytest.mark.parametrize(("text", "recovered"), CUTS)
def test_cut_answers_are_closed(text: str, recovered: object) -> None:
    assert repair(text) == recovered


@pytest.mark.parametrize("text", ["plain words", "", "   ", "Sure: {", "}"])
def test_text_that_is_no_json_is_none(text: str) -> None:
    # the library raises (or returns None) here; the answer then passes through as text
    assert repair(text) is None
    assert parse_answer(text, TOOLS).content == text

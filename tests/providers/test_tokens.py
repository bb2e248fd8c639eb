"""The one token estimate (LangChain's approximate counter with our settings) everywhere."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from nodes.context_pack import package
from providers.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD, estimate_tokens, text_tokens


def test_text_messages_tool_calls_images_and_tools_all_count() -> None:
    text = "x" * 360
    assert estimate_tokens([HumanMessage(text)]) == text_tokens(text) >= 100 + MESSAGE_OVERHEAD
    call = AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "a" * 300},
                                      "id": "c1", "type": "tool_call"}])
    assert estimate_tokens([call]) > estimate_tokens([AIMessage("")]) + 80
    image = HumanMessage([{"type": "image_url", "image_url": {"url": "data:..."}}])
    assert estimate_tokens([image]) >= IMAGE_TOKENS
    schema = {"type": "function", "function": {"name": "f", "description": "d" * 360}}
    assert estimate_tokens([], [schema]) >= 100
    assert estimate_tokens([], ["a provider-specific tool " * 20]) > 100  # counted by repr


def test_context_packing_uses_the_same_estimate() -> None:
    files = [("a.py", "a" * 3600), ("b.py", "b" * 3600)]
    whole = package(files, ["f"], budget=100_000)
    assert "a" * 3600 in whole and "b" * 3600 in whole
    budget = text_tokens("Findings:\n- f") + text_tokens("--- a.py ---\n" + "a" * 3600)
    cut = package(files, ["f"], budget=budget)
    assert "a" * 3600 in cut and "b.py" not in cut

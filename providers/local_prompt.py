"""Turning LangChain messages and tools into what a small local model can follow under a
llama.cpp JSON-schema grammar, and its JSON back into messages and tool calls.

Every tool-calling or structured request is constrained by a grammar, so the answer always
parses: ``{"tool": NAME, "arguments": {...}}`` to call a tool, ``{"answer": TEXT}`` to finish.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.utils.json import parse_partial_json

MAX_ITEMS = 6  # items per array (a string length cap would blow up llama.cpp's grammar;
               # max_tokens bounds strings, and a cut answer is closed by ``repair``)


def tighten(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy with closed objects and bounded arrays, so generation ends."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "object" or "properties" in node:
                node.setdefault("additionalProperties", False)
            if kind == "array":
                node.setdefault("maxItems", MAX_ITEMS)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    params = dict(tool["function"].get("parameters") or {"type": "object", "properties": {}})
    params.setdefault("type", "object")
    params.setdefault("properties", {})
    return params


def _chosen(tools: list[dict[str, Any]], tool_choice: Any) -> tuple[list[dict[str, Any]], bool]:
    """(the tools the answer may call, whether it must call one)."""
    if tool_choice is None or tool_choice == "auto" or not tools:
        return tools, False
    if tool_choice == "none":
        return [], False
    if tool_choice is True or tool_choice in ("any", "required"):
        return tools, True
    name = tool_choice if isinstance(tool_choice, str) else (
        (tool_choice.get("function") or {}).get("name") or tool_choice.get("name"))
    return [t for t in tools if t["function"]["name"] == name] or tools, True


def answer_schema(tools: list[dict[str, Any]], tool_choice: Any) -> dict[str, Any] | None:
    """The grammar's JSON schema, or None for free text (no tools)."""
    allowed, forced = _chosen(tools, tool_choice)
    if not allowed:
        return None
    defs: dict[str, Any] = {}
    options: list[dict[str, Any]] = []
    for tool in allowed:
        params = _parameters(tool)
        defs.update(params.pop("$defs", {}) or {})
        options.append({"type": "object", "properties": {
            "tool": {"const": tool["function"]["name"]}, "arguments": params},
            "required": ["tool", "arguments"]})
    if not forced:
        options.append({"type": "object", "properties": {"answer": {"type": "string"}},
                        "required": ["answer"]})
    schema: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
    if defs:
        schema = {**schema, "$defs": defs}
    return tighten(schema)


def instructions(tools: list[dict[str, Any]], tool_choice: Any) -> str:
    """What the model is told about the JSON it must write."""
    allowed, forced = _chosen(tools, tool_choice)
    if not allowed:
        return ""
    lines = []
    for tool in allowed:
        fn = tool["function"]
        props = _parameters(tool)["properties"]
        fields = ", ".join(f"{k} ({v.get('type', 'value')}): {v.get('description', '')}".strip()
                           for k, v in props.items())
        lines.append(f"- {fn['name']}: {fn.get('description', '')} Arguments: {fields or 'none'}")
    if forced and len(allowed) == 1:
        name = allowed[0]["function"]["name"]
        return ("Answer with one JSON object: {\"tool\": \"" + name + "\", \"arguments\": "
                "{...}} filling in these fields from the conversation:\n" + "\n".join(lines))
    head = "Call one tool with {\"tool\": NAME, \"arguments\": {...}}"
    if not forced:
        head += ", or finish with {\"answer\": \"your final answer\"}"
    return head + ". Tools:\n" + "\n".join(lines)


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def chat_messages(messages: list[BaseMessage], extra_system: str = "") -> list[dict[str, str]]:
    """Alternating user/assistant turns (what small models' chat templates insist on), the
    system text folded into the first user turn, tool results as user turns."""
    system = [_text(m) for m in messages if isinstance(m, SystemMessage)]
    if extra_system:
        system.append(extra_system)
    names = {c["id"]: c["name"] for m in messages if isinstance(m, AIMessage)
             for c in m.tool_calls}
    turns: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, AIMessage):
            calls = [json.dumps({"tool": c["name"], "arguments": c["args"]})
                     for c in message.tool_calls]
            role, text = "assistant", "\n".join(filter(None, [_text(message), *calls]))
        elif isinstance(message, ToolMessage):
            name = names.get(message.tool_call_id, "the tool")
            role, text = "user", f"Result of {name}:\n{_text(message)}"
        else:
            role, text = "user", _text(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(start)"})
    if turns[-1]["role"] != "user":
        turns.append({"role": "user", "content": "Continue."})
    if system:
        turns[0]["content"] = "\n\n".join(system) + "\n\n" + turns[0]["content"]
    return turns


def parse_answer(text: str, tools: list[dict[str, Any]]) -> AIMessage:
    """The grammar-shaped JSON as a tool call or a final answer (plain text passes through)."""
    if not tools:
        return AIMessage(content=text)
    data = repair(text)
    if data is None:
        return AIMessage(content=text)
    names = {t["function"]["name"] for t in tools}
    if isinstance(data, dict) and data.get("tool") in names:
        return AIMessage(content="", tool_calls=[{
            "name": str(data["tool"]), "args": dict(data.get("arguments") or {}),
            "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}])
    if isinstance(data, dict) and "answer" in data:
        return AIMessage(content=str(data["answer"]))
    return AIMessage(content=text)


def repair(text: str) -> Any:
    """The JSON in ``text``, closed by LangChain's partial-JSON parser if ``max_tokens`` cut
    it; None if nothing parses (plain text)."""
    try:
        return parse_partial_json(text)
    except ValueError:
        return None

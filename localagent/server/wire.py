"""OpenAI's chat completions wire format: the request model and LangChain messages to and
from OpenAI's response and chunk objects."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields of ``POST /v1/chat/completions`` the gateway honours; the rest of OpenAI's
    fields are accepted and ignored (clients send them by default)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    n: int | None = Field(None, ge=1, le=1)

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stops(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema of ``response_format``, titled for ``with_structured_output``;
        None for plain text. Raises ValueError for a format the gateway cannot honour."""
        fmt = self.response_format
        if not fmt or fmt.get("type") == "text":
            return None
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("json_schema"), dict):
            raise ValueError("response_format: only {'type': 'json_schema', 'json_schema': "
                             "{...}} and 'text' are supported")
        spec = fmt["json_schema"]
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise ValueError("response_format.json_schema.schema must be a JSON schema object")
        titled = {**schema, "title": spec.get("name") or schema.get("title") or "response"}
        if spec.get("description"):
            titled["description"] = spec["description"]
        return titled


def to_messages(raw: list[dict[str, Any]], max_chars: int) -> list[Any]:
    """LangChain messages from OpenAI's; ValueError names the message that is wrong."""
    from langchain_core.messages import convert_to_messages

    for index, message in enumerate(raw):
        if not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{index}]: 'role' is required")
        if message["role"] == "developer":
            raw[index] = message = {**message, "role": "system"}
        if message.get("content") is None:  # an assistant turn of tool calls only
            raw[index] = message = {**message, "content": ""}
        if len(json.dumps(message.get("content"), default=str)) > max_chars:
            raise OverflowError(f"messages[{index}] is longer than {max_chars} characters")
    try:
        return convert_to_messages(raw)
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        raise ValueError(f"messages: {exc}") from None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content or []]
    return "".join(p for p in parts if isinstance(p, str))


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    return [{"id": call.get("id") or f"call_{i}", "type": "function",
             "function": {"name": call["name"], "arguments": json.dumps(call["args"])}}
            for i, call in enumerate(getattr(message, "tool_calls", None) or [])]


def usage(message: Any) -> dict[str, int] | None:
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return None
    return {"prompt_tokens": meta.get("input_tokens", 0),
            "completion_tokens": meta.get("output_tokens", 0),
            "total_tokens": meta.get("total_tokens", 0)}


def finish_reason(message: Any, has_tools: bool) -> str:
    if has_tools:
        return "tool_calls"
    found = (getattr(message, "response_metadata", None) or {})
    reason = found.get("finish_reason") or found.get("done_reason")
    return "length" if str(reason).lower() in ("length", "max_tokens") else "stop"


def completion(request_id: str, model: str, message: Any,
               content: str | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object for an answer (``content`` replaces the text, e.g. with
    the JSON of a structured answer)."""
    calls = _tool_calls(message)
    body: dict[str, Any] = {"role": "assistant",
                            "content": content if content is not None else
                            (_text(message.content) or (None if calls else ""))}
    if calls:
        body["tool_calls"] = calls
    result: dict[str, Any] = {
        "id": request_id, "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "message": body, "logprobs": None,
                     "finish_reason": finish_reason(message, bool(calls))}]}
    found = usage(message)
    if found:
        result["usage"] = found
    return result


class ChunkWriter:
    """SSE lines of ``chat.completion.chunk`` objects for one streamed answer."""

    def __init__(self, request_id: str, model: str) -> None:
        self.head = {"id": request_id, "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model, "system_fingerprint": None}
        self.started = False
        self.tools_seen = False

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + json.dumps({**self.head, "choices": choices, **extra}).encode() + \
            b"\n\n"

    def delta(self, chunk: Any) -> bytes | None:
        """The event for one AIMessageChunk (None if it carries nothing to send)."""
        delta: dict[str, Any] = {}
        if not self.started:
            delta["role"] = "assistant"
            self.started = True
        text = _text(chunk.content)
        if text:
            delta["content"] = text
        calls = getattr(chunk, "tool_call_chunks", None) or []
        if calls:
            self.tools_seen = True
            delta["tool_calls"] = [
                {"index": c.get("index") if c.get("index") is not None else i,
                 **({"id": c["id"], "type": "function"} if c.get("id") else {}),
                 "function": {k: v for k, v in (("name", c.get("name")),
                                                ("arguments", c.get("args") or ""))
                              if v is not None}}
                for i, c in enumerate(calls)]
        if not delta:
            return None
        if set(delta) == {"role"}:  # OpenAI's first chunk: the role with empty content
            delta["content"] = ""
        return self._event([{"index": 0, "delta": delta, "finish_reason": None}])

    def finish(self, final: Any) -> bytes:
        return self._event([{"index": 0, "delta": {},
                             "finish_reason": finish_reason(final, self.tools_seen)}])

    def usage(self, final: Any) -> bytes:
        return self._event([], usage=usage(final) or {"prompt_tokens": 0,
                                                       "completion_tokens": 0,
                                                       "total_tokens": 0})


def sse_error(error: dict[str, Any]) -> bytes:
    """The event that ends a stream which failed after it started."""
    return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"

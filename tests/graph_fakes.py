"""A scripted chat model for the workflow graph: answers per phase, whatever the order.

Structured outputs are scripted per schema name (consumed in order, the last repeating);
agent turns are scripted per branch, chosen by a substring of the branch's task, and
indexed by how many model turns the branch has had, so parallel branches stay deterministic.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr
from werkzeug import Request, Response

OURS = ["graph", "nodes", "localagent", "providers", "prompts"]


def no_blocking() -> AbstractContextManager[Any]:
    """Fail on any blocking call (file, socket, sleep, subprocess) that our code makes on the
    event loop, as `langgraph dev` does."""
    from blockbuster import blockbuster_ctx

    return blockbuster_ctx(OURS)


def project_python(root: Path) -> Path:
    """Give a test repository a virtualenv of its own, whose ``python`` is the test run's
    (it has pytest): commands run the project's interpreter, never LocalAgent's."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    # like a real venv's: the sandbox binds "home" back when it lies under a masked /tmp
    # (a checkout under /tmp runs its tests with an interpreter there)
    (root / ".venv" / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    return python


USAGE = {"input_tokens": 20, "output_tokens": 10, "total_tokens": 30}


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


class PhaseModel(BaseChatModel):
    structured: dict[str, list[Any]] = Field(default_factory=dict)
    turns: list[tuple[str, list[Any]]] = Field(default_factory=list)
    delay: float = 0.0
    slow: dict[str, float] = Field(default_factory=dict, description="turn key -> seconds")
    log_file: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict,
                                     description="response_metadata of every answer")

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _counts: dict[str, int] = PrivateAttr(default_factory=dict)
    _active: int = PrivateAttr(default=0)
    _log: list[str] = PrivateAttr(default_factory=list)
    max_active: int = 0

    @property
    def _llm_type(self) -> str:
        return "phase-scripted"

    @property
    def log(self) -> list[str]:
        """One entry per model call: the schema name, or ``turn:<key>``."""
        return self._log

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None,
                   **kwargs: Any) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _answer(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None,
                tool_choice: Any) -> AIMessage:
        names = [t["function"]["name"] for t in tools or []]
        if tool_choice and len(names) == 1 and names[0] in self.structured:
            return self._structured(names[0])
        task = next((str(m.content) for m in messages if isinstance(m, HumanMessage)), "")
        for key, script in self.turns:
            if key in task:
                index = sum(isinstance(m, AIMessage) for m in messages)
                self._record(f"turn:{key}")
                entry = script[min(index, len(script) - 1)]
                if isinstance(entry, BaseException):
                    raise entry
                if isinstance(entry, list):
                    calls = [{"name": c["name"], "args": c["args"], "id": f"{key}-{index}-{n}",
                              "type": "tool_call"} for n, c in enumerate(entry)]
                    return AIMessage(content="", tool_calls=calls, usage_metadata=USAGE)
                return AIMessage(content=str(entry), usage_metadata=USAGE)
        raise AssertionError(f"no script for this call: {task[:200]!r}")

    def _record(self, entry: str) -> None:
        with self._lock:
            self._log.append(entry)
            if self.log_file:  # survives the process being killed
                with open(self.log_file, "a") as handle:
                    handle.write(entry + "\n")

    def _structured(self, name: str) -> AIMessage:
        with self._lock:
            index = self._counts.get(name, 0)
            self._counts[name] = index + 1
        self._record(name)
        script = self.structured[name]
        entry = script[min(index, len(script) - 1)]
        if isinstance(entry, BaseException):
            raise entry
        return AIMessage(content="", usage_metadata=USAGE, tool_calls=[
            {"name": name, "args": entry, "id": f"{name}-{index}", "type": "tool_call"}])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        message = self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        return self._result(message)

    def _result(self, message: AIMessage) -> ChatResult:
        message.response_metadata = {**message.response_metadata, **self.metadata}
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            task = next((str(m.content) for m in messages if isinstance(m, HumanMessage)), "")
            for key, seconds in self.slow.items():
                if key in task:
                    await asyncio.sleep(seconds)
            message = self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        finally:
            with self._lock:
                self._active -= 1
        return self._result(message)


# -- the same scripts behind the OpenAI chat-completions wire protocol --------------------------
def _wire_message(message: dict[str, Any]) -> BaseMessage:
    content = message.get("content") or ""
    if not isinstance(content, str):  # content parts
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    if message.get("role") == "assistant":
        return AIMessage(content)
    # tool results and system prompts only matter as "not the task"
    return HumanMessage(content) if message.get("role") == "user" else SystemMessage(content)


def _wire_calls(answer: AIMessage) -> list[dict[str, Any]]:
    return [{"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
            for c in answer.tool_calls]


@dataclass
class Gate:
    """Holds the first request whose task contains ``key`` until ``release`` is set."""

    key: str
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def hold(self, body: dict[str, Any]) -> None:
        task = next((str(m.get("content")) for m in body.get("messages", [])
                     if m.get("role") == "user"), "")
        if self.key in task and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(60)


def openai_handler(model: PhaseModel, gate: Gate | None = None
                   ) -> Callable[[Request], Response]:
    """A chat-completions endpoint answering from ``model``'s scripts: ``response_format``
    json_schema and forced tool choice get the scripted object, other calls the branch turns."""

    def handle(request: Request) -> Response:
        body = json.loads(request.get_data())
        if gate is not None:
            gate.hold(body)
        if body.get("stream"):
            return Response('{"error": {"message": "streaming is not scripted"}}', status=400,
                            content_type="application/json")
        fmt = body.get("response_format") or {}
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if fmt.get("type") == "json_schema":
            answer = model._structured(fmt["json_schema"]["name"])
            message["content"] = json.dumps(answer.tool_calls[0]["args"])
        else:
            messages = [_wire_message(m) for m in body["messages"]]
            answer = model._answer(messages, body.get("tools"), body.get("tool_choice"))
            message["content"] = str(answer.content) or None
            if answer.tool_calls:
                message["tool_calls"] = _wire_calls(answer)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return Response(json.dumps({
            "id": "chatcmpl-phase", "object": "chat.completion", "created": 0,
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}}),
            content_type="application/json")

    return handle


def scripted_provider(httpserver: Any, model: PhaseModel, gate: Gate | None = None) -> None:
    """Serve ``model`` over the OpenAI wire protocol and make it the configured default
    provider (the user config file in the test's isolated config dir)."""
    from tests.cli_util import use_openai_compatible

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(
        openai_handler(model, gate))
    use_openai_compatible(httpserver.url_for("/v1"), "scripted")

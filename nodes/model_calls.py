"""Where nodes get their chat model (the injected factory's, one per spec), the model
requests they yield (``Ask`` for a structured answer, ``Chat`` for an agent's turn), and how
a model call becomes an activity record."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from graph.context import ModelFactory
from nodes.answers import degenerate
from prompts import load_prompt


class HasProvider(Protocol):
    """A run context naming a provider spec (the workflow's and the chat's)."""

    provider: str | None


class ModelSource:
    """The chat models of a graph: built by the injected factory, once per provider spec."""

    def __init__(self, build: ModelFactory) -> None:
        self._build = build
        self._built: dict[str | None, BaseChatModel] = {}
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, model: BaseChatModel) -> ModelSource:
        """Every node uses ``model``, whatever the spec (tests, Python callers)."""
        return cls(lambda spec: model)

    def get(self, context: HasProvider, preference: str | None = None) -> BaseChatModel:
        spec = preference or context.provider
        with self._lock:
            if spec not in self._built:
                self._built[spec] = self._build(spec)
            return self._built[spec]

    async def aget(self, context: HasProvider, preference: str | None = None
                   ) -> BaseChatModel:
        """``get`` off the event loop the first time: a factory may read the configuration
        and the key store."""
        built = self._built.get(preference or context.provider)
        return built if built is not None else await asyncio.to_thread(
            self.get, context, preference)


def call_activity(message: AIMessage, phase: str, seconds: float, *,
                  stream: str = "") -> dict[str, Any]:
    """Provider, model, tokens, cost and latency of one model call."""
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    metadata = message.response_metadata or {}
    meta = metadata.get("localagent", {})
    activity = {"kind": "model_call", "phase": phase, "stream": stream,
                "provider": meta.get("provider") or metadata.get("model_name", "model"),
                "model": meta.get("model") or metadata.get("model_name"),
                "input_tokens": usage.get("input_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
                "cost": meta.get("cost", 0.0), "cached": meta.get("cached", False),
                "seconds": round(seconds, 3)}
    if metadata.get("model_parameters"):  # the embedded model says how big it is
        activity["parameters"] = metadata["model_parameters"]
        activity["model_description"] = metadata.get("model_description")
    return activity


async def render(name: str, **values: Any) -> str:
    """A phase prompt filled in; the first read of its file happens off the event loop."""
    return (await asyncio.to_thread(load_prompt, name)).render(**values)


@dataclass
class Ask:
    """Yielded by a node for a structured answer; the node receives ``(answer, activity)``,
    the activity saying ``degenerate`` (and why) when the answer looks worthless."""

    model: BaseChatModel
    schema: type[BaseModel]
    prompt: str
    phase: str
    stream: str = ""
    system: str | None = None
    timeout: float | None = None
    instructions: Sequence[str] = ()

    def _runnable(self) -> tuple[Runnable[Any, Any], list[BaseMessage]]:
        messages: list[BaseMessage] = [HumanMessage(self.prompt)]
        if self.system:
            messages.insert(0, SystemMessage(self.system))
        return self.model.with_structured_output(self.schema, include_raw=True), messages

    def invoke(self) -> tuple[Any, dict[str, Any]]:
        runnable, messages = self._runnable()
        started = time.monotonic()
        return self._settle(runnable.invoke(messages), time.monotonic() - started)

    async def ainvoke(self) -> tuple[Any, dict[str, Any]]:
        runnable, messages = self._runnable()
        started = time.monotonic()
        return self._settle(await runnable.ainvoke(messages), time.monotonic() - started)

    def _settle(self, out: Any, seconds: float) -> tuple[Any, dict[str, Any]]:
        raw, parsed = out["raw"], out["parsed"]
        if parsed is None:
            raise ValueError(f"{self.phase}: the model's answer did not parse as "
                             f"{self.schema.__name__}: {out.get('parsing_error')}")
        if isinstance(parsed, dict):
            parsed = self.schema.model_validate(parsed)
        activity = call_activity(raw, self.phase, seconds, stream=self.stream)
        reason = degenerate(parsed, prompt=self.prompt, schema=self.schema,
                            instructions=self.instructions)
        if reason:
            activity["degenerate"] = reason
        return parsed, activity


@dataclass
class Chat:
    """Yielded by a node for a free answer (an agent's turn, tools bound); the node receives
    ``(message, activity)``."""

    model: Runnable[Any, Any]
    messages: Sequence[BaseMessage]
    phase: str
    stream: str = ""
    timeout: float | None = None
    instructions: Sequence[str] = field(default=())

    def invoke(self) -> tuple[AIMessage, dict[str, Any]]:
        started = time.monotonic()
        return self._settle(self.model.invoke(self.messages), time.monotonic() - started)

    async def ainvoke(self) -> tuple[AIMessage, dict[str, Any]]:
        started = time.monotonic()
        return self._settle(await self.model.ainvoke(self.messages),
                            time.monotonic() - started)

    def _settle(self, response: Any, seconds: float) -> tuple[AIMessage, dict[str, Any]]:
        if not isinstance(response, AIMessage):
            response = AIMessage(content=str(response.content))
        activity = call_activity(response, self.phase, seconds, stream=self.stream)
        if isinstance(response.content, str) and response.content.strip():
            reason = degenerate(response.content, instructions=self.instructions)
            if reason:
                activity["degenerate"] = reason
        return response, activity

"""Where nodes get their chat model, and how a model call becomes evidence."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Protocol, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from graph.context import settings
from prompts import load_prompt

T = TypeVar("T", bound=BaseModel)


class HasProvider(Protocol):
    """A run context naming a provider spec (the workflow's and the chat's)."""

    provider: str | None


class ModelSource:
    """The injected model (tests, Python callers), else the configured provider chain."""

    def __init__(self, model: BaseChatModel | None = None) -> None:
        self.model = model
        self._built: dict[str | None, BaseChatModel] = {}
        self._lock = threading.Lock()

    def get(self, context: HasProvider, preference: str | None = None) -> BaseChatModel:
        if self.model is not None:
            return self.model
        spec = preference or context.provider
        with self._lock:
            if spec not in self._built:
                from localagent.keys.manager import KeyManager
                from providers.factory import get_chat_model

                config = settings()
                filled = KeyManager(config.security).fill(config)
                self._built[spec] = get_chat_model(spec, config=filled.providers_config())
            return self._built[spec]

    async def aget(self, context: HasProvider, preference: str | None = None
                   ) -> BaseChatModel:
        """``get`` off the event loop: building reads the configuration and the key store."""
        if self.model is not None:
            return self.model
        return await asyncio.to_thread(self.get, context, preference)


def call_evidence(message: AIMessage, phase: str, seconds: float, *,
                  stream: str = "") -> dict[str, Any]:
    """Provider, tokens, cost and latency of one model call."""
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    meta = (message.response_metadata or {}).get("localagent", {})
    return {"kind": "model_call", "phase": phase, "stream": stream,
            "provider": meta.get("provider") or (message.response_metadata or {}).get(
                "model_name", "model"),
            "input_tokens": usage.get("input_tokens", 0),
            "output_tokens": usage.get("output_tokens", 0),
            "cost": meta.get("cost", 0.0), "cached": meta.get("cached", False),
            "seconds": round(seconds, 3)}


async def render(name: str, **values: Any) -> str:
    """A phase prompt filled in; the first read of its file happens off the event loop."""
    return (await asyncio.to_thread(load_prompt, name)).render(**values)


async def ask(model: BaseChatModel, schema: type[T], prompt: str, *, phase: str,
              system: str | None = None) -> tuple[T, dict[str, Any]]:
    """A structured answer and the evidence of the call."""
    messages: list[BaseMessage] = [HumanMessage(prompt)]
    if system:
        messages.insert(0, SystemMessage(system))
    started = time.monotonic()
    out: Any = await model.with_structured_output(schema, include_raw=True).ainvoke(messages)
    raw, parsed = out["raw"], out["parsed"]
    if parsed is None:
        raise ValueError(f"{phase}: the model's answer did not parse as {schema.__name__}: "
                         f"{out.get('parsing_error')}")
    if isinstance(parsed, dict):
        parsed = schema.model_validate(parsed)
    return parsed, call_evidence(raw, phase, time.monotonic() - started)

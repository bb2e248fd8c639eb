"""A scripted chat model: the boundary fake for the provider wrapper's own logic (failover,
cache, streaming, structured output, LangChain's standard tests). Graph tests script their
model per phase with ``tests/graph_fakes.py`` instead."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr


class ScriptedChatModel(BaseChatModel):
    """Answers from a script: each entry is a reply text, an AIMessage or an exception.

    When the script runs out, the last entry repeats. ``delay`` seconds pass before each answer.
    """

    script: list[Any] = Field(default_factory=lambda: ["ok"])
    model_name: str = "scripted"
    delay: float = 0.0
    temperature: float | None = None
    stream_fail_after: int | None = None

    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        return self._calls

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        with self._lock:
            index = len(self._calls)
            self._calls.append(list(messages))
        entry = self.script[min(index, len(self.script) - 1)]
        if isinstance(entry, BaseException):
            raise entry
        if isinstance(entry, AIMessage):
            return entry.model_copy()
        return AIMessage(content=str(entry), usage_metadata={
            "input_tokens": 10, "output_tokens": 5, "total_tokens": 15})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        if self.delay:
            time.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _pieces(self, messages: list[BaseMessage]) -> list[AIMessageChunk]:
        answer = self._next(messages)
        words = str(answer.content).split(" ") if answer.content else []
        chunks = [AIMessageChunk(content=(w if i == 0 else " " + w)) for i, w in enumerate(words)]
        return chunks

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        for i, chunk in enumerate(self._pieces(messages)):
            if self.stream_fail_after is not None and i >= self.stream_fail_after:
                raise ConnectionError("stream cut")
            yield ChatGenerationChunk(message=chunk)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any
                       ) -> AsyncIterator[ChatGenerationChunk]:
        if self.delay:
            await asyncio.sleep(self.delay)
        for i, chunk in enumerate(self._pieces(messages)):
            if self.stream_fail_after is not None and i >= self.stream_fail_after:
                raise ConnectionError("stream cut")
            yield ChatGenerationChunk(message=chunk)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
                   ) -> Any:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

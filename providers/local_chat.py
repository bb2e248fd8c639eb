"""``LocalChatModel``: a LangChain chat model over llama-cpp-python, in-process.

The GGUF is loaded lazily, once per process and settings, and one generation runs at a time
per loaded model (a lock); async calls run in a worker thread so the event loop stays free,
and a cancelled async call stops its generation at the next token (Ctrl-C is prompt).
Tool calls and ``with_structured_output`` go through a JSON-schema grammar, so even a tiny
model returns JSON that parses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from providers.local_prompt import answer_schema, chat_messages, instructions, parse_answer


class GenerationStopped(Exception):
    """The async call that asked for this generation was cancelled."""


@dataclass
class Loaded:
    llama: Any
    lock: threading.Lock
    repack: bool
    stop: threading.Event | None = None  # set: the generation under way ends at its next step
    parameters: int = 0
    description: str = ""

    def metadata(self) -> dict[str, Any]:
        """What a response says about the model (how big it is: callers warn about a tiny
        one)."""
        return {"model_parameters": self.parameters, "model_description": self.description}


def _stoppable(loaded: Loaded) -> None:
    """Check ``loaded.stop`` before every llama.cpp decode step (each prompt batch, each
    generated token): a set event ends the generation there, with GenerationStopped."""
    context = loaded.llama._ctx
    decode = context.decode

    def checked(batch: Any) -> Any:
        stop = loaded.stop
        if stop is not None and stop.is_set():
            raise GenerationStopped("generation stopped: its call was cancelled")
        return decode(batch)

    context.decode = checked


_loaded: dict[tuple[Any, ...], Loaded] = {}
_load_lock = threading.Lock()
native_log = logging.getLogger("llama_cpp")
_log_callback: list[Any] = []  # the installed ctypes callback, kept alive


def quiet_native_logs() -> None:
    """Send llama.cpp's own log lines (printed from C on stderr; llama-cpp-python's filter
    misreads their levels, so warnings like ``llama_kv_cache_iswa: using full-size SWA
    cache`` get through and split the live display) to the ``llama_cpp`` logger at debug
    level: they show only with ``--debug`` / log level DEBUG."""
    if _log_callback:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def forward(level: int, text: bytes, user_data: Any) -> None:
        if native_log.isEnabledFor(logging.DEBUG):
            native_log.debug("%s", text.decode("utf-8", "replace").rstrip("\n"))

    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))
    _log_callback.append(forward)


def amx_build() -> bool:
    """True when this llama.cpp build has the AMX repack path that crashes here on the first
    token (a native build on an AMX CPU): such builds load without extra buffer types."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return "AMX_INT8 = 1" in info or "AMX = 1" in info


def all_cores() -> int:
    """The CPU cores this process may run on (its affinity: a container's cpuset counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call on this OS
        return os.cpu_count() or 1


def load(path: str, n_ctx: int, n_threads: int | None, n_gpu_layers: int,
         repack: bool | None = None) -> Loaded:
    """The process-wide model for these settings, loaded on first use. ``n_threads=None``
    is every core (llama.cpp's own default is half of them)."""
    n_threads = n_threads or all_cores()
    key = (path, n_ctx, n_threads, n_gpu_layers, repack)
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        import llama_cpp
        import llama_cpp.llama_cpp as lib

        quiet_native_logs()

        use_repack = (not amx_build()) if repack is None else repack
        original = lib.llama_model_default_params

        def params() -> Any:
            value = original()
            value.use_extra_bufts = use_repack
            return value

        lib.llama_model_default_params = params  # Llama() reads its model params from here
        try:
            llama = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads,
                                    n_gpu_layers=n_gpu_layers, verbose=False)
        finally:
            lib.llama_model_default_params = original
        parameters = int(llama_cpp.llama_model_n_params(llama.model))
        description = str(llama.metadata.get("general.name") or Path(path).name)
        if "tokenizer.chat_template" not in llama.metadata:
            # llama-cpp falls back to llama-2's format; a Gemma GGUF wants Gemma's turns
            arch = str(llama.metadata.get("general.architecture", ""))
            if arch.startswith("gemma"):
                llama.chat_format = "gemma"
        _loaded[key] = Loaded(llama, threading.Lock(), use_repack, parameters=parameters,
                              description=description)
        _stoppable(_loaded[key])
        return _loaded[key]


class LocalChatModel(BaseChatModel):
    """An in-process llama.cpp chat model (``provider: local``)."""

    model_name: str = Field("gemma3-270m", alias="model")
    model_path: str
    n_ctx: int = 8192
    n_threads: int | None = Field(None, description="None: every core")
    n_gpu_layers: int = 0
    temperature: float = 0.2
    max_tokens: int = 384
    seed: int | None = 0
    stop: list[str] | None = None
    repack: bool | None = Field(None, description="extra buffer types; None: off on AMX builds")

    model_config = {"populate_by_name": True}

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_name, "path": self.model_path, "n_ctx": self.n_ctx,
                "temperature": self.temperature, "max_tokens": self.max_tokens}

    def loaded(self) -> Loaded:
        return load(self.model_path, self.n_ctx, self.n_threads, self.n_gpu_layers,
                    self.repack)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None,
                   **kwargs: Any) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _request(self, messages: list[BaseMessage], stop: list[str] | None,
                 kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        tools = list(kwargs.get("tools") or [])
        choice = kwargs.get("tool_choice")
        schema = answer_schema(tools, choice)
        request: dict[str, Any] = {
            "messages": chat_messages(messages, instructions(tools, choice)),
            "max_tokens": int(kwargs.get("max_tokens") or self.max_tokens),
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "stop": (stop or []) + (self.stop or []) or None}
        seed = kwargs.get("seed", self.seed)
        if seed is not None:
            request["seed"] = int(seed)
        if schema is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            request["grammar"] = LlamaGrammar.from_json_schema(json.dumps(schema),
                                                               verbose=False)
        return request, tools if schema is not None else []

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        return self._generate_until(messages, stop, None, kwargs)

    def _generate_until(self, messages: list[BaseMessage], stop: list[str] | None,
                        stopper: threading.Event | None, kwargs: dict[str, Any]
                        ) -> ChatResult:
        request, tools = self._request(messages, stop, kwargs)
        model = self.loaded()
        with model.lock, _stopping(model, stopper):
            out = model.llama.create_chat_completion(**request)
        choice = out["choices"][0]
        message = parse_answer(choice["message"].get("content") or "", tools)
        usage = out.get("usage") or {}
        message.usage_metadata = {"input_tokens": usage.get("prompt_tokens", 0),
                                  "output_tokens": usage.get("completion_tokens", 0),
                                  "total_tokens": usage.get("total_tokens", 0)}
        message.response_metadata = {"model_name": self.model_name,
                                     "finish_reason": choice.get("finish_reason"),
                                     **model.metadata()}
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        import asyncio

        stopper = threading.Event()
        try:
            return await asyncio.to_thread(self._generate_until, messages, stop, stopper,
                                           kwargs)
        finally:  # cancelled: the thread's generation ends at its next token
            stopper.set()

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        return self._stream_until(messages, stop, None, run_manager, kwargs)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: Any = None, **kwargs: Any
                       ) -> AsyncIterator[ChatGenerationChunk]:
        import asyncio

        stopper = threading.Event()
        chunks = self._stream_until(messages, stop, stopper, None, kwargs)
        try:
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            stopper.set()
            # a generation waiting between tokens lets go of the model's lock; one a worker
            # is running (ValueError) stops at its next token
            with contextlib.suppress(ValueError):
                chunks.close()

    def _stream_until(self, messages: list[BaseMessage], stop: list[str] | None,
                      stopper: threading.Event | None,
                      run_manager: CallbackManagerForLLMRun | None, kwargs: dict[str, Any]
                      ) -> Generator[ChatGenerationChunk, None, None]:
        request, tools = self._request(messages, stop, kwargs)
        if tools:  # a tool call is one JSON object: it arrives whole
            result = self._generate_until(messages, stop, stopper, kwargs)
            message = result.generations[0].message
            yield ChatGenerationChunk(message=AIMessageChunk(
                content=message.content, tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"],
                     "index": i} for i, c in enumerate(getattr(message, "tool_calls", []))],
                usage_metadata=getattr(message, "usage_metadata", None)))
            return
        model = self.loaded()
        produced = 0
        with model.lock, _stopping(model, stopper):
            prompt_tokens = _prompt_tokens(model.llama, request["messages"])
            for part in model.llama.create_chat_completion(stream=True, **request):
                delta = part["choices"][0].get("delta") or {}
                text = delta.get("content") or ""
                if not text:
                    continue
                produced += 1
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata={
            "input_tokens": prompt_tokens, "output_tokens": produced,
            "total_tokens": prompt_tokens + produced},
            response_metadata={"model_name": self.model_name, **model.metadata()}))


@contextlib.contextmanager
def _stopping(model: Loaded, stopper: threading.Event | None) -> Iterator[None]:
    """While the model's lock is held: this generation's stop event (None: it runs to the
    end). A call cancelled while it waited for the lock does not start."""
    if stopper is not None and stopper.is_set():
        raise GenerationStopped("generation stopped before it started: its call was cancelled")
    model.stop = stopper
    try:
        yield
    finally:
        model.stop = None


def _prompt_tokens(llama: Any, messages: list[dict[str, str]]) -> int:
    text = "\n".join(m["content"] for m in messages)
    return len(llama.tokenize(text.encode("utf-8"), add_bos=False)) + 4 * len(messages)

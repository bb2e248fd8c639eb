"""The OpenAI-compatible gateway: ``POST /v1/chat/completions`` and ``GET /v1/models`` over
the resilient provider chain.

``model`` names a provider spec (``openai:gpt-4o-mini``), a configured chain, or
``default``. Each distinct (model, temperature, max tokens, seed) gets one
ResilientChatModel, kept for the server's life, so connections, breakers and limiters are
shared by every request that uses it.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from localagent.server import wire
from localagent.server.errors import ApiError, bad_request, from_provider, too_large

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from localagent.server.auth import Dependency
    from providers.resilient import ResilientChatModel

DEFAULT_MODEL = "default"
_MAX_MODELS = 64


class ModelTable:
    """The chat models the gateway has built, by model name and sampling parameters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.providers_config()
        self._models: OrderedDict[tuple[Any, ...], ResilientChatModel] = OrderedDict()
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """``default``, the configured chains, and each configured provider's spec."""
        names = [DEFAULT_MODEL, *self.settings.chains]
        for provider, config in self.settings.providers.items():
            names.append(f"{provider}:{config.model}" if config.model else provider)
        return list(dict.fromkeys(names))

    def spec(self, model: str) -> str | None:
        """The chain spec for ``model``; ApiError 404 if it names no provider or chain."""
        from providers.errors import ProviderError
        from providers.factory import expand_chain
        from providers.registry import get_plugin, parse_spec

        if model == DEFAULT_MODEL:
            return None
        try:
            for item in expand_chain(model, self.config):
                get_plugin(parse_spec(item)[0])
        except ProviderError:
            raise ApiError(404, f"the model {model!r} does not exist: name a provider spec "
                           f"(provider:model), a chain, or 'default' (GET /v1/models lists "
                           "them)", "invalid_request_error", "model_not_found",
                           param="model") from None
        return model

    async def aget(self, model: str, temperature: float | None, max_tokens: int | None,
                   seed: int | None) -> ResilientChatModel:
        """``get`` without blocking the event loop: a model not built yet is built in a
        thread (building a client reads certificates and may load an SDK)."""
        found = self._models.get((model, temperature, max_tokens, seed))
        if found is not None:
            return found
        import asyncio

        return await asyncio.to_thread(self.get, model, temperature, max_tokens, seed)

    def get(self, model: str, temperature: float | None, max_tokens: int | None,
            seed: int | None) -> ResilientChatModel:
        key = (model, temperature, max_tokens, seed)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        from providers.factory import get_chat_model

        spec = self.spec(model)
        built = get_chat_model(spec, config=self.config, temperature=temperature,
                               max_tokens=max_tokens, seed=seed)
        with self._lock:
            found = self._models.setdefault(key, built)
            if len(self._models) > _MAX_MODELS:
                self._models.popitem(last=False)
        return found

    def retry_after(self, model: ResilientChatModel) -> float:
        """Seconds until the first provider of ``model`` will take a call again."""
        waits = []
        for cand in model.base_candidates():
            wait = cand.breaker.retry_in()
            if cand.limiter is not None:
                wait = max(wait, cand.limiter.expected_wait())
            waits.append(wait)
        return min(waits, default=1.0)


def _meta(message: Any) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (message.response_metadata or {}).get("localagent")
    return found


def _headers(meta: dict[str, Any] | None) -> dict[str, str]:
    if not meta:
        return {}
    return {"x-localagent-provider": str(meta.get("provider", "")),
            "x-localagent-attempts": str(len(meta.get("attempts") or []) or 1),
            "x-localagent-cached": "true" if meta.get("cached") else "false"}


def _parse(body: bytes, settings: Settings) -> tuple[wire.ChatRequest, list[Any]]:
    try:
        request = wire.ChatRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise bad_request(f"{where}: {first['msg']}", param=where) from None
    try:
        messages = wire.to_messages(request.messages, settings.security.max_message_chars)
    except OverflowError as exc:
        raise too_large(str(exc)) from None
    except ValueError as exc:
        raise bad_request(str(exc), param="messages") from None
    return request, messages


class Completions:
    """One request's answer, plain or streamed."""

    def __init__(self, table: ModelTable, request: wire.ChatRequest, messages: list[Any]
                 ) -> None:
        self.table = table
        self.request = request
        self.messages = messages
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            self.schema = request.json_schema()
        except ValueError as exc:
            raise bad_request(str(exc), param="response_format") from None
        if self.schema is not None and request.tools:
            raise bad_request("tools and a response_format schema in one request are not "
                              "supported", param="response_format")
        self.model: ResilientChatModel

    async def open(self) -> Completions:
        request = self.request
        self.model = await self.table.aget(request.model, request.temperature,
                                           request.token_limit, request.seed)
        return self

    def _failure(self, exc: BaseException) -> ApiError:
        return from_provider(exc, self.table.retry_after(self.model))

    def _runnable(self) -> Any:
        if self.request.tools:
            return self.model.bind_tools(self.request.tools, tool_choice=self.request.tool_choice)
        return self.model

    async def _structured(self) -> tuple[Any, str]:
        import json

        runnable = self.model.with_structured_output(self.schema or {}, include_raw=True)
        result = await runnable.ainvoke(self.messages)  # stop sequences would cut the JSON
        return result["raw"], json.dumps(result["parsed"])

    async def answer(self) -> Response:
        from providers.errors import ProviderError

        try:
            if self.schema is not None:
                message, content = await self._structured()
            else:
                message = await self._runnable().ainvoke(self.messages, stop=self.request.stops)
                content = None
        except ProviderError as exc:
            raise self._failure(exc) from None
        if self.request.stream:  # a schema answer, sent as one chunk
            return StreamingResponse(self._replay(message, content),
                                     media_type="text/event-stream",
                                     headers=_headers(_meta(message)))
        return JSONResponse(wire.completion(self.id, self.request.model, message, content),
                            headers=_headers(_meta(message)))

    async def _replay(self, message: Any, content: str | None) -> AsyncIterator[bytes]:
        from langchain_core.messages import AIMessageChunk

        writer = wire.ChunkWriter(self.id, self.request.model)
        chunk = AIMessageChunk(content=content if content is not None else message.content)
        yield writer.delta(chunk) or b""
        yield writer.finish(message)
        if self.request.stream_options and self.request.stream_options.include_usage:
            yield writer.usage(message)
        yield wire.DONE

    async def stream(self) -> Response:
        """Wait for the first chunk (a failure before it is an HTTP error, with failover
        done), then stream; a failure after it ends the stream with an error event."""
        from providers.errors import ProviderError
        from providers.resilient import OUTCOME_PROBE

        if self.schema is not None:
            return await self.answer()
        if self.table.settings.server.passthrough:
            from localagent.server.passthrough import open_stream

            forwarded = await open_stream(self.model, self.request.model_dump(exclude_none=True))
            if forwarded is not None:
                return StreamingResponse(forwarded.body(), media_type="text/event-stream",
                                         headers=forwarded.headers())
        outcomes: list[Any] = []
        token = OUTCOME_PROBE.set(outcomes)
        try:
            source = self._runnable().astream(self.messages, stop=self.request.stops)
            head: list[Any] = []
            try:
                async for chunk in _until_known(source, outcomes, head):
                    head.append(chunk)
            except ProviderError as exc:
                await source.aclose()
                raise self._failure(exc) from None
        finally:
            OUTCOME_PROBE.reset(token)
        headers = _headers(_meta(head[-1]) if head and _meta(head[-1]) else (
            _outcome_meta(outcomes[0]) if outcomes else None))
        return StreamingResponse(self._events(head, source), media_type="text/event-stream",
                                 headers=headers)

    async def _events(self, head: list[Any], source: Any) -> AsyncIterator[bytes]:
        from langchain_core.messages.ai import add_usage

        writer = wire.ChunkWriter(self.id, self.request.model)
        total: Any = None
        last: Any = None

        def event(chunk: Any) -> bytes | None:
            nonlocal total, last
            if chunk.usage_metadata:
                total = add_usage(total, chunk.usage_metadata)
            if (chunk.response_metadata or {}).get("finish_reason"):
                last = chunk
            return writer.delta(chunk)

        try:
            for chunk in head:
                if (data := event(chunk)) is not None:
                    yield data
            async for chunk in source:
                if (data := event(chunk)) is not None:
                    yield data
        except Exception as exc:
            yield wire.sse_error(self._failure(exc).body()["error"])
            return
        finally:
            await source.aclose()
        from langchain_core.messages import AIMessage

        final = AIMessage(content="", usage_metadata=total,
                          response_metadata=last.response_metadata if last else {})
        yield writer.finish(final)
        if self.request.stream_options and self.request.stream_options.include_usage:
            yield writer.usage(final)
        yield wire.DONE


async def _until_known(source: Any, outcomes: list[Any], head: list[Any]
                       ) -> AsyncIterator[Any]:
    """Chunks from ``source`` until the answering provider is known (a cache hit is known
    at its metadata chunk, which comes right after its replayed chunks)."""
    while not outcomes:
        try:
            chunk = await source.__anext__()
        except StopAsyncIteration:
            return
        yield chunk
        if _meta(chunk):
            return


def _outcome_meta(outcome: Any) -> dict[str, Any]:
    return {"provider": outcome.candidate.name, "attempts": outcome.attempts, "cached": False}


def build_gateway_router(settings: Settings, require_scope: Any) -> APIRouter:
    """The gateway's routes; ``require_scope`` is the app's auth dependency factory."""
    table = ModelTable(settings)
    router = APIRouter()
    chat_scope: Dependency = require_scope("chat")

    @router.get("/v1/models", dependencies=[Depends(chat_scope)])
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "localagent"}
            for name in table.names()]}

    @router.post("/v1/chat/completions", dependencies=[Depends(chat_scope)])
    async def chat_completions(request: Request) -> Response:
        parsed, messages = _parse(await request.body(), settings)
        call = await Completions(table, parsed, messages).open()
        return await (call.stream() if parsed.stream else call.answer())

    router.model_table = table  # type: ignore[attr-defined]  # /ready and tests use it
    return router

"""ResilientChatModel: one LangChain chat model over an ordered chain of providers."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import chain
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr

from providers import candidates as cands_mod
from providers.accounting import UsageLedger
from providers.cache import ResponseCache
from providers.call_cache import CallCache
from providers.calls import acall, aopen, as_result, call_once, open_once
from providers.engine import Call, Candidate, Outcome, drive_async, drive_sync, failover
from providers.errors import AllProvidersFailed
from providers.policy import (
    DEFAULT_DEADLINE_SECONDS,
    CachePolicy,
    Price,
    ProviderPolicy,
    RetryPolicy,
)
from providers.settle import record_failures, settle_success, stream_failed, strip_metadata
from providers.shared_store import SharedStore
from providers.streaming import Head, aggregate, to_chunk
from providers.tokens import estimate_tokens

_MAX_TOOL_SETS = 32
# A caller that must know which provider answered before the stream's end (the server's
# response headers) sets a list here; async calls append their Outcome to it.
OUTCOME_PROBE: ContextVar[list[Outcome] | None] = ContextVar("outcome_probe", default=None)


@dataclass(slots=True)
class _CallSetup:
    flag: bool | None
    stop: list[str] | None
    cands: list[Candidate]
    extra: int
    keyed: dict[str, Any]
    hit: tuple[Candidate, str, Any] | None


class ResilientChatModel(BaseChatModel):
    """Fallback, circuit breaker, rate limits, retries, deadline and cache over chat models.

    ``ResilientChatModel(models=[primary, backup])`` is all it takes; every policy has a
    default and can be set per provider with ``policies={"openai": ProviderPolicy(...)}``.
    """

    models: list[BaseChatModel] = Field(min_length=1)
    names: list[str] | None = None
    policy: ProviderPolicy = Field(default_factory=ProviderPolicy)
    policies: dict[str, ProviderPolicy] = Field(default_factory=dict)
    deadline: float = Field(DEFAULT_DEADLINE_SECONDS, gt=0)
    cache_policy: CachePolicy = Field(default_factory=CachePolicy)
    response_cache: ResponseCache | None = Field(default=None, exclude=True)
    shared_store: SharedStore | None = Field(
        default=None, exclude=True,
        description="breakers, rate limits and the cache shared with other processes")
    prices: dict[str, Price] = Field(default_factory=dict)
    ledger: UsageLedger | None = Field(default=None, exclude=True)
    # Standard chat-model parameters, applied to every provider in the chain.
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: list[str] | None = None
    timeout: float | None = None
    max_retries: int | None = None
    streaming: bool = False

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _tool_sets: dict[tuple[Any, ...], tuple[list[Candidate], int]] = PrivateAttr(
        default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        if self.ledger is None:
            self.ledger = UsageLedger(self.prices)

    # -- identity -----------------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "localagent-resilient"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"chain": [c.name for c in self.base_candidates()]}

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any
                               ) -> dict[str, Any]:
        # The default dumps the whole model (every wrapped client) on every call.
        return {"_type": self._llm_type, "chain": list(self._names), "stop": stop, **kwargs}

    @cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.chain)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        name = kwargs.get("model") or self._names[0]
        params = LangSmithParams(ls_provider="localagent", ls_model_type="chat",
                                 ls_model_name=name)
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    @property
    def usage_ledger(self) -> UsageLedger:
        assert self.ledger is not None
        return self.ledger

    def usage(self) -> dict[str, dict[str, Any]]:
        """Requests, failures, cache hits, tokens, cost and latency per provider."""
        return self.usage_ledger.snapshot()

    def health(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Reachability, auth and models of each provider, without spending tokens."""
        from providers.health import check_model

        return [{**check_model(c.runnable, timeout=timeout), "name": c.name,
                 "breaker": c.breaker.snapshot()["state"]} for c in self.base_candidates()]

    # -- candidates ----------------------------------------------------------------------------
    def base_candidates(self) -> list[Candidate]:
        """The chain as named candidates; built once (a hot path: every call reads it)."""
        return self.chain

    def reset_chain(self) -> None:
        """Rebuild candidates on next use (after breakers or limiters were reset)."""
        for name in ("chain", "_names"):
            self.__dict__.pop(name, None)
        self._tool_sets.clear()

    @cached_property
    def chain(self) -> list[Candidate]:
        """Candidates in fallback order, built on first use."""
        default = self.policy
        if self.timeout is not None or self.max_retries is not None:
            retry = default.retry
            if self.max_retries is not None:
                retry = RetryPolicy(**{**retry.model_dump(), "max_retries": self.max_retries})
            default = default.model_copy(update={
                "retry": retry, "timeout": self.timeout or default.timeout})
        models = [self._with_standard_params(m) for m in self.models]
        return cands_mod.build_candidates(models, self.names, default, self.policies,
                                          self.shared_store)

    def _with_standard_params(self, model: BaseChatModel) -> BaseChatModel:
        update: dict[str, Any] = {}
        fields = type(model).model_fields
        if self.temperature is not None and "temperature" in fields:
            update["temperature"] = self.temperature
        if self.max_tokens is not None:
            for name in ("max_tokens", "max_output_tokens", "num_predict"):
                if name in fields:
                    update[name] = self.max_tokens
                    break
        if self.seed is not None and "seed" in fields:
            update["seed"] = self.seed
        return model.model_copy(update=update) if update else model

    def _call_candidates(self, kwargs: dict[str, Any]) -> tuple[list[Candidate], int]:
        """Candidates for one call: tools passed through ``bind_tools`` bind per provider."""
        tools = kwargs.pop("tools", None)
        tool_choice = kwargs.pop("tool_choice", None)
        options = kwargs.pop("tool_options", None) or {}
        base = self.chain
        if not tools:
            return base, 0
        key = (cands_mod.tool_set_key(tools), repr(tool_choice), repr(sorted(options.items())))
        entry = self._tool_sets.get(key)
        if entry is None:
            bound = cands_mod.with_tools(base, tools, tool_choice, options)
            schema_tokens = estimate_tokens([], cands_mod.tool_fingerprint(tools))
            if len(self._tool_sets) >= _MAX_TOOL_SETS:
                self._tool_sets.clear()
            entry = self._tool_sets[key] = (bound, schema_tokens)
        return entry

    # -- cache ---------------------------------------------------------------------------------
    def response_store(self) -> ResponseCache | None:
        return self.call_cache.store

    @cached_property
    def call_cache(self) -> CallCache:
        """Lookups and stores in the response cache (asked on every call)."""
        store = None
        if self.cache_policy.enabled:
            store = self.response_cache
            if store is None and self.shared_store is not None:
                from providers.shared_cache import SharedResponseCache

                store = SharedResponseCache(self.shared_store, self.cache_policy)
            elif store is None:
                store = ResponseCache(self.cache_policy)
        return CallCache(store, self.cache_policy, self.usage_ledger)

    # -- running the failover plan -------------------------------------------------------------
    def run_sync(self, cands: list[Candidate], messages: list[BaseMessage], extra_tokens: int,
                 call: Callable[[Call], Any]) -> Outcome:
        plan = failover(cands, messages, deadline=time.monotonic() + self.deadline,
                        extra_tokens=extra_tokens)
        try:
            return drive_sync(plan, call)
        except AllProvidersFailed as exc:
            record_failures(self.usage_ledger, exc.attempts)
            raise

    async def run_async(self, cands: list[Candidate], messages: list[BaseMessage],
                        extra_tokens: int, call: Callable[[Call], Any]) -> Outcome:
        plan = failover(cands, messages, deadline=time.monotonic() + self.deadline,
                        extra_tokens=extra_tokens)
        try:
            outcome = await drive_async(plan, call)
        except AllProvidersFailed as exc:
            record_failures(self.usage_ledger, exc.attempts)
            raise
        probe = OUTCOME_PROBE.get()
        if probe is not None:
            probe.append(outcome)
        return outcome

    # -- generate ------------------------------------------------------------------------------
    def _prepare(self, messages: list[BaseMessage], stop: list[str] | None,
                 kwargs: dict[str, Any]) -> _CallSetup:
        """What every entry point does first: candidates, cache key params, cache lookup.
        Pops our own kwargs (cache, tools) so the rest can go to the provider."""
        flag = kwargs.pop("cache", None)
        stop = stop or self.stop
        cands, extra = self._call_candidates(kwargs)
        keyed = {**kwargs, "stop": stop} if stop else kwargs
        return _CallSetup(flag, stop, cands, extra, keyed,
                          self.call_cache.lookup(cands, messages, keyed, flag))

    def _finish_generate(self, outcome: Outcome, messages: list[BaseMessage],
                         call: _CallSetup) -> ChatResult:
        result: ChatResult = outcome.value
        message = settle_success(self.usage_ledger, outcome, result.generations[0].message)
        self.call_cache.keep(outcome, messages, call.keyed, call.flag, message)
        return result

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import generate_from_stream

            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        call = self._prepare(messages, stop, kwargs)
        hit = call.hit
        if hit is not None:
            return as_result(self.call_cache.hit_message(hit[0], hit[2])[0])
        outcome = self.run_sync(call.cands, messages, call.extra,
                                partial(call_once, stop=call.stop, kwargs=kwargs))
        return self._finish_generate(outcome, messages, call)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import agenerate_from_stream

            return await agenerate_from_stream(self._astream(messages, stop, run_manager,
                                                             **kwargs))
        call = self._prepare(messages, stop, kwargs)
        hit = call.hit
        if hit is not None:
            return as_result(self.call_cache.hit_message(hit[0], hit[2])[0])
        outcome = await self.run_async(call.cands, messages, call.extra,
                                       partial(acall, stop=call.stop, kwargs=kwargs))
        return self._finish_generate(outcome, messages, call)

    # -- stream --------------------------------------------------------------------------------
    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs)
        hit = call.hit
        if hit is not None:
            yield from self._replay(hit[0], hit[2], run_manager)
            return
        outcome = self.run_sync(call.cands, messages, call.extra,
                                partial(open_once, stop=call.stop, kwargs=kwargs))
        head: Head = outcome.value
        seen: list[ChatGenerationChunk] = []
        try:
            for chunk in chain(head.prefix, head.rest):
                seen.append(chunk)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        except Exception as exc:
            raise stream_failed(self.usage_ledger, outcome, exc) from exc
        except BaseException:
            outcome.candidate.breaker.release()
            raise
        yield self._finish_stream(outcome, seen, messages, call.keyed, call.flag)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any
                       ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs)
        hit = call.hit
        if hit is not None:
            for chunk in self._replay(hit[0], hit[2], None):
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            return
        outcome = await self.run_async(call.cands, messages, call.extra,
                                       partial(aopen, stop=call.stop, kwargs=kwargs))
        head: Head = outcome.value
        seen: list[ChatGenerationChunk] = []
        try:
            for chunk in head.prefix:
                seen.append(chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            async for chunk in head.rest:
                seen.append(chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        except Exception as exc:
            raise stream_failed(self.usage_ledger, outcome, exc) from exc
        except BaseException:
            outcome.candidate.breaker.release()
            raise
        yield self._finish_stream(outcome, seen, messages, call.keyed, call.flag)

    def _finish_stream(self, outcome: Outcome, seen: list[ChatGenerationChunk],
                       messages: list[BaseMessage], kwargs: dict[str, Any], flag: bool | None
                       ) -> ChatGenerationChunk:
        """Settle a finished stream; the returned empty chunk carries our metadata."""
        final = aggregate(seen)
        settle_success(self.usage_ledger, outcome, final)
        self.call_cache.keep(outcome, messages, kwargs, flag, final,
                             chunks=[strip_metadata(c.message) for c in seen])
        return ChatGenerationChunk(message=AIMessageChunk(
            content="", response_metadata={"localagent": final.response_metadata["localagent"]}))

    def _replay(self, cand: Candidate, entry: dict[str, Any],
                run_manager: CallbackManagerForLLMRun | None) -> Iterator[ChatGenerationChunk]:
        message, chunks = self.call_cache.hit_message(cand, entry)
        for piece in chunks or [to_chunk(strip_metadata(message))]:
            chunk = ChatGenerationChunk(message=to_chunk(piece))
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", response_metadata={"localagent": message.response_metadata["localagent"]}))

    # -- tools and structured output -----------------------------------------------------------
    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
                   ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; each provider formats them its own way at call time."""
        return self.bind(tools=list(tools), tool_choice=tool_choice, tool_options=kwargs)

    def with_structured_output(self, schema: dict[str, Any] | type, *,
                               include_raw: bool = False, **kwargs: Any
                               ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Structured output with failover: each provider uses its own native method."""
        from providers.structured import structured_runnable

        return structured_runnable(self, schema, include_raw=include_raw, kwargs=kwargs)


# LangChain asks for `_generate`'s signature on every call (to see whether it takes a
# run_manager); working it out takes longer than the rest of the wrapper's own work per
# call, and it never changes: inspect reads a stored one.
for _method in (ResilientChatModel._generate, ResilientChatModel._agenerate):
    _method.__signature__ = inspect.signature(_method)  # type: ignore[union-attr]

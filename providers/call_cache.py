"""The wrapper's side of the response cache: which calls it may answer or keep (by default
temperature-0 calls only), under which key, and how an answer from it is marked."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from providers.accounting import UsageLedger
from providers.cache import ResponseCache, cache_key, sampling_params
from providers.engine import Candidate, Outcome
from providers.policy import CachePolicy
from providers.settle import annotate, metadata, strip_metadata

Hit = tuple[Candidate, str, Any]


class CallCache:
    """Lookups and stores for one wrapper; ``store`` is None when caching is off."""

    def __init__(self, store: ResponseCache | None, policy: CachePolicy,
                 ledger: UsageLedger) -> None:
        self.store = store
        self.only_deterministic = policy.only_deterministic
        self.ledger = ledger

    def cacheable(self, cand: Candidate, kwargs: dict[str, Any], flag: bool | None) -> bool:
        """``cache=True/False`` per call wins; else temperature 0 (per call or the model's)."""
        if flag is not None:
            return flag
        if not self.only_deterministic:
            return True
        return kwargs.get("temperature", cand.temperature) == 0

    def key_for(self, cand: Candidate, messages: list[BaseMessage], kwargs: dict[str, Any],
                schema: Any = None) -> str:
        params = sampling_params(cand.model, {**cand.bound, **kwargs})
        return cache_key(cand.name, cand.model_id, messages, params, schema)

    def lookup(self, cands: list[Candidate], messages: list[BaseMessage],
               kwargs: dict[str, Any], flag: bool | None, schema: Any = None) -> Hit | None:
        """The first candidate with a stored answer to this call (counted as a cache hit)."""
        store = self.store
        if store is None or flag is False:
            return None
        for cand in cands:
            if cand.skip_reason or not self.cacheable(cand, kwargs, flag):
                continue
            key = self.key_for(cand, messages, kwargs, schema)
            entry = store.get(key)
            if entry is not None:
                self.ledger.record(cand.name, ok=True, cached=True)
                return cand, key, entry
        return None

    @staticmethod
    def hit_message(cand: Candidate, entry: dict[str, Any]
                    ) -> tuple[BaseMessage, list[BaseMessage]]:
        message, chunks = ResponseCache.decode(entry)
        annotate(message, metadata(cand, [], cost=0.0, cached=True))
        return message, chunks

    def keep(self, outcome: Outcome, messages: list[BaseMessage], kwargs: dict[str, Any],
             flag: bool | None, message: BaseMessage, chunks: list[BaseMessage] | None = None,
             schema: Any = None, extra: dict[str, Any] | None = None) -> None:
        """Store a provider's answer, when this call may be cached."""
        store = self.store
        if store is None or flag is False or not self.cacheable(outcome.candidate, kwargs, flag):
            return
        key = self.key_for(outcome.candidate, messages, kwargs, schema)
        store.put_message(key, strip_metadata(message), chunks, extra)

"""Persistent response cache over diskcache (SQLite-backed, safe across processes)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict

from providers.policy import CACHE_VERSION, CachePolicy
from providers.storage import cache_root

# Parameters that change what a model answers; anything else (timeouts, callbacks) does not.
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "max_tokens", "max_output_tokens",
                 "num_predict", "stop", "seed", "presence_penalty", "frequency_penalty",
                 "response_format", "reasoning_effort", "tools", "tool_choice",
                 "parallel_tool_calls", "format", "num_ctx")


def default_cache_dir() -> Path:
    """The response cache's directory when ``caching.directory`` is not set."""
    return cache_root() / "responses"


def cache_directory(policy: CachePolicy) -> Path:
    """``policy.directory`` if set, else the default response cache directory."""
    return Path(policy.directory or default_cache_dir()).expanduser()


def sampling_params(model: Any, call_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Answer-shaping parameters of a call: the model's own fields, overridden per call."""
    params: dict[str, Any] = {}
    for key in SAMPLING_KEYS:
        value = getattr(model, key, None)
        if value is not None and not callable(value):
            params[key] = value
    for key, value in call_kwargs.items():
        if value is not None:
            params[key] = value
    return params


def cache_key(provider: str, model_id: str, messages: list[BaseMessage],
              params: dict[str, Any], schema: Any = None) -> str:
    payload = {
        "v": CACHE_VERSION,
        "provider": provider,
        "model": model_id,
        "messages": [message_to_dict(m) for m in messages],
        "params": params,
        "schema": schema,
    }
    blob = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _stored_at(entry: Any) -> float:
    value = entry.get("stored_at") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, int | float) else float("-inf")


class ResponseCache:
    """Exact-match cache of model answers; opened lazily on first use."""

    def __init__(self, policy: CachePolicy | None = None, directory: str | Path | None = None):
        self.policy = policy or CachePolicy()
        self.directory = (Path(directory).expanduser() if directory
                          else cache_directory(self.policy))
        self._cache: Any = None
        self._lock = threading.Lock()

    def _store(self) -> Any:
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    import diskcache

                    self.directory.mkdir(parents=True, exist_ok=True)
                    self._cache = diskcache.Cache(
                        str(self.directory), size_limit=self.policy.size_limit_bytes
                    )
        return self._cache

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._store().get(key)
        return value if isinstance(value, dict) else None

    @staticmethod
    def decode(entry: dict[str, Any]) -> tuple[BaseMessage, list[BaseMessage]]:
        """A cached entry's final message and, when it came from a stream, its chunks."""
        message = messages_from_dict([entry["message"]])[0]
        return message, messages_from_dict(entry.get("chunks") or [])

    def put_message(self, key: str, message: BaseMessage,
                    chunks: list[BaseMessage] | None = None, extra: dict[str, Any] | None = None
                    ) -> None:
        entry: dict[str, Any] = {"message": message_to_dict(message), "stored_at": time.time()}
        if chunks:
            entry["chunks"] = [message_to_dict(c) for c in chunks]
        if extra:
            entry.update(extra)
        self.put(key, entry)

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Keep ``entry`` under ``key`` for the policy's TTL."""
        self._store().set(key, entry, expire=self.policy.ttl_seconds)

    def stats(self) -> dict[str, Any]:
        """Entries, bytes on disk, and when the first and last entries still held were
        stored (by insertion order: two lookups, not a scan; None when unknown)."""
        store = self._store()
        return {"directory": str(self.directory), "entries": len(store),
                "bytes": store.volume(), "oldest": self._stored_at_end(last=False),
                "newest": self._stored_at_end(last=True)}

    def _stored_at_end(self, *, last: bool) -> float | None:
        try:
            _, entry = self._store().peekitem(last=last)
        except KeyError:  # empty
            return None
        stored = _stored_at(entry)
        return stored if stored != float("-inf") else None

    def clear(self, older_than: float | None = None) -> int:
        """Remove every entry, or (``older_than`` seconds) only the entries stored before
        then; entries written without a ``stored_at`` count as old. Returns how many."""
        store = self._store()
        if older_than is None:
            return int(store.clear())
        cutoff = time.time() - older_than
        stale = [key for key in store.iterkeys() if _stored_at(store.get(key)) < cutoff]
        return sum(1 for key in stale if store.delete(key))

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

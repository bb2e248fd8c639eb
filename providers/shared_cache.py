"""The response cache in the shared store: an answer kept by one process is a hit in every
process pointing at the same Redis. Same keys and TTL as the disk cache; entries are JSON
(never pickles: whoever can write to Redis must not be able to run code here). While Redis
cannot be reached, the disk cache answers."""

from __future__ import annotations

import json
import time
from typing import Any

from providers.cache import ResponseCache, _stored_at
from providers.policy import CachePolicy
from providers.shared_store import SharedStore


class SharedResponseCache(ResponseCache):
    """``ResponseCache`` over Redis; the disk cache it inherits is the fallback. Memory is
    bounded by the Redis server's own ``maxmemory`` policy, not ``size_limit_bytes``."""

    def __init__(self, store: SharedStore, policy: CachePolicy | None = None) -> None:
        super().__init__(policy)
        self.store = store
        self._prefix = store.key("cache", "")

    def get(self, key: str) -> dict[str, Any] | None:
        def remote() -> dict[str, Any] | None:
            raw = self.store.client.get(self._prefix + key)
            value = json.loads(raw) if raw is not None else None
            return value if isinstance(value, dict) else None

        return self.store.run(remote, lambda: super(SharedResponseCache, self).get(key))

    def put(self, key: str, entry: dict[str, Any]) -> None:
        try:
            blob = json.dumps(entry, separators=(",", ":"))
        except (TypeError, ValueError):  # an answer JSON cannot hold is not shared
            super().put(key, entry)
            return
        ttl = self.policy.ttl_seconds
        px = int(ttl * 1000) if ttl is not None else None

        def remote() -> None:
            self.store.client.set(self._prefix + key, blob, px=px)

        self.store.run(remote, lambda: super(SharedResponseCache, self).put(key, entry))

    def _keys(self) -> list[bytes]:
        return list(self.store.client.scan_iter(match=self._prefix + "*", count=500))

    def stats(self) -> dict[str, Any]:
        def remote() -> dict[str, Any]:
            keys = self._keys()
            client = self.store.client
            size = sum(client.memory_usage(k) or 0 for k in keys)
            stamps = [_stored_at(json.loads(v)) for v in client.mget(keys) if v] if keys else []
            known = [s for s in stamps if s != float("-inf")]
            return {"directory": self._prefix + "*", "entries": len(keys), "bytes": size,
                    "oldest": min(known, default=None), "newest": max(known, default=None)}

        return self.store.run(remote, lambda: super(SharedResponseCache, self).stats())

    def clear(self, older_than: float | None = None) -> int:
        def remote() -> int:
            keys = self._keys()
            if older_than is not None and keys:
                cutoff = time.time() - older_than
                values = self.store.client.mget(keys)
                keys = [k for k, v in zip(keys, values, strict=True)
                        if v is None or _stored_at(json.loads(v)) < cutoff]
            return int(self.store.client.delete(*keys)) if keys else 0

        return self.store.run(remote, lambda: super(SharedResponseCache, self).clear(
            older_than))

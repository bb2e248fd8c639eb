"""The shared store (Redis) behind cluster-wide breakers, rate limits and the response cache.

Every operation goes through ``SharedStore.run``: when Redis cannot be reached, the caller's
per-process fallback answers instead, one warning says so, and the store is tried again
after ``RETRY_SECONDS``, so a Redis that comes back is used again without a restart. No
call to a model ever fails because the shared store is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SECONDS = 5.0  # how long a store that failed is left alone before it is tried again
SOCKET_TIMEOUT = 0.5  # a call's overhead stays bounded when Redis hangs


def redacted_url(url: str) -> str:
    """``url`` without its password (for messages, ``config show`` and health)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class SharedStore:
    """A Redis client under a key prefix, with the outage bookkeeping of its callers."""

    def __init__(self, url: str, prefix: str = "localagent:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: Any = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._warned = False
        self._scripts: dict[str, Any] = {}

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def client(self) -> Any:
        """The sync redis-py client (created on first use; it connects lazily)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import redis

                    self._client = redis.Redis.from_url(
                        self.url, socket_timeout=SOCKET_TIMEOUT,
                        socket_connect_timeout=SOCKET_TIMEOUT, health_check_interval=30)
        return self._client

    def script(self, source: str) -> Any:
        """A registered Lua script (EVALSHA, loaded again by redis-py when Redis forgot it)."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = self.client.register_script(source)
        return found

    @property
    def available(self) -> bool:
        """False while a recent failure says Redis is down (then the fallback answers)."""
        return time.monotonic() >= self._down_until

    def run(self, operation: Callable[[], T], fallback: Callable[[], T]) -> T:
        """``operation()`` against Redis, or ``fallback()`` when Redis is down."""
        if not self.available:
            return fallback()
        import redis

        try:
            result = operation()
        except (redis.RedisError, OSError) as exc:  # down, hung, read-only, out of memory
            self._failed(exc)
            return fallback()
        if self._warned:
            self._warned = False
            log.info("shared state at %s is reachable again: breakers, rate limits and "
                        "the cache are shared again", redacted_url(self.url))
        return result

    def _failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_SECONDS
        if not self._warned:
            self._warned = True
            log.warning("shared state at %s is unreachable (%s): each process keeps its own "
                        "breakers, rate limits and cache until it is back", redacted_url(
                            self.url), exc.__class__.__name__)

    def ping(self) -> float:
        """Round-trip seconds of a PING (raises when Redis cannot be reached)."""
        started = time.perf_counter()
        self.client.ping()
        return time.perf_counter() - started

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._scripts.clear()


_stores: dict[tuple[str, str], SharedStore] = {}
_stores_lock = threading.Lock()


def shared_store(url: str | None, prefix: str = "localagent:") -> SharedStore | None:
    """The process-wide store for a URL and prefix (None: no shared state configured)."""
    if not url:
        return None
    with _stores_lock:
        store = _stores.get((url, prefix))
        if store is None:
            store = _stores[(url, prefix)] = SharedStore(url, prefix)
        return store


def reset_stores() -> None:
    """Forget every store (tests)."""
    with _stores_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()

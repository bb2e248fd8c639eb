"""The process-wide circuit breaker and rate limiter of each provider: in-process, or shared
through Redis by every process that points at the same store (``system.shared_state_url``)."""

from __future__ import annotations

import threading

from providers.breaker import CircuitBreaker
from providers.policy import BreakerPolicy, LimitPolicy
from providers.ratelimit import RateLimiter
from providers.shared_breaker import SharedCircuitBreaker
from providers.shared_ratelimit import SharedRateLimiter
from providers.shared_store import SharedStore

_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(name: str, policy: BreakerPolicy | None = None,
                store: SharedStore | None = None) -> CircuitBreaker:
    """The process-wide breaker for a provider, created on first use; with a shared
    ``store``, one whose state every process using that store sees."""
    where = "" if store is None else store.url + " " + store.prefix
    with _breakers_lock:
        breaker = _breakers.get((name, where))
        if breaker is None:
            if store is None:
                breaker = CircuitBreaker(name, policy)
            else:
                breaker = SharedCircuitBreaker(name, store, policy)
            _breakers[(name, where)] = breaker
        return breaker


def all_breakers() -> list[CircuitBreaker]:
    with _breakers_lock:
        return list(_breakers.values())


def reset_breakers() -> None:
    """Forget every breaker (tests and benchmarks start each case from closed breakers)."""
    with _breakers_lock:
        _breakers.clear()


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(name: str, policy: LimitPolicy, store: SharedStore | None = None
                ) -> RateLimiter | None:
    """The process-wide limiter for a provider, or None when it has no limits; with a
    shared ``store``, one budget for every process using that store."""
    if not (policy.rpm or policy.tpm):
        return None
    where = "" if store is None else store.url + " " + store.prefix
    with _limiters_lock:
        limiter = _limiters.get((name, where))
        if limiter is None or limiter.policy != policy:
            if store is None:
                limiter = RateLimiter(policy)
            else:
                limiter = SharedRateLimiter(name, store, policy)
            _limiters[(name, where)] = limiter
        return limiter


def reset_limiters() -> None:
    with _limiters_lock:
        _limiters.clear()

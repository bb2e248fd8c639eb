"""Client-side rate limits: request and token buckets with first-come-first-served waiting.

A call *reserves* its cost up front. Buckets may go into debt, and each reservation is told
how long to wait until the debt ahead of it has refilled, so waiters are served in the order
they arrived, whether they wait with ``time.sleep`` or ``asyncio.sleep``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from providers.policy import LimitPolicy

Clock = Callable[[], float]


class TokenBucket:
    """A bucket of ``capacity`` that refills at ``rate`` units per second and may go negative."""

    def __init__(self, rate: float, capacity: float, clock: Clock) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self._clock = clock
        self._stamp = clock()

    def refill(self, now: float) -> None:
        if now > self._stamp:
            self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
            self._stamp = now

    def wait_after(self, cost: float) -> float:
        """Seconds until the bucket is out of debt once ``cost`` is debited."""
        after = self.level - cost
        return 0.0 if after >= 0 else -after / self.rate


@dataclass
class Reservation:
    """What a caller holds while it waits and calls; refund it if the call never happens."""

    wait: float
    requests: float
    tokens: float
    shared: bool = False  # debited from the shared store's budget


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits for one provider."""

    def __init__(self, policy: LimitPolicy, clock: Clock = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: TokenBucket | None = None
        self._tokens: TokenBucket | None = None
        if policy.rpm:
            burst = policy.request_burst or max(1.0, policy.rpm / 60.0)
            self._requests = TokenBucket(policy.rpm / 60.0, burst, clock)
        if policy.tpm:
            self._tokens = TokenBucket(policy.tpm / 60.0, policy.tpm, clock)

    def reserve(self, tokens: float, max_wait: float | None = None) -> Reservation | None:
        """Debit one request and ``tokens``; None (nothing debited) if the wait would be longer
        than ``max_wait`` (default: the policy's bound)."""
        bound = self.policy.max_wait_seconds if max_wait is None else max_wait
        with self._lock:
            token_cost, wait = self._cost_and_wait(tokens)
            if wait > bound:
                return None
            if self._requests is not None:
                self._requests.level -= 1.0
            if self._tokens is not None:
                self._tokens.level -= token_cost
            return Reservation(wait=wait, requests=1.0 if self._requests else 0.0,
                               tokens=token_cost)

    def refund(self, reservation: Reservation) -> None:
        """Give back a reservation whose call never went out (cancelled while waiting)."""
        with self._lock:
            if self._requests is not None:
                self._requests.level += reservation.requests
            if self._tokens is not None:
                self._tokens.level += reservation.tokens

    def correct(self, reservation: Reservation, actual_tokens: float) -> None:
        """Replace the token estimate with what the provider reported it used."""
        if self._tokens is None:
            return
        with self._lock:
            self._tokens.level -= actual_tokens - reservation.tokens

    def expected_wait(self, tokens: float = 0.0) -> float:
        """Seconds a request of ``tokens`` would wait now (nothing is reserved)."""
        with self._lock:
            return self._cost_and_wait(tokens)[1]

    def _cost_and_wait(self, tokens: float) -> tuple[float, float]:
        """(token cost, wait) of one request now; lock held."""
        now = self._clock()
        wait = token_cost = 0.0
        if self._requests is not None:
            self._requests.refill(now)
            wait = self._requests.wait_after(1.0)
        if self._tokens is not None:
            self._tokens.refill(now)
            token_cost = min(float(tokens), self._tokens.capacity)
            wait = max(wait, self._tokens.wait_after(token_cost))
        return token_cost, wait

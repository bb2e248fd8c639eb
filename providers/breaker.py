"""Per-provider circuit breaker, shared by every wrapper in the process.

The lock guards only bookkeeping; it is never held while a provider call runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from providers.errors import ErrorKind
from providers.policy import BreakerPolicy

Clock = Callable[[], float]


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """closed → open after N failures (with a minimum request count in the window) → half-open
    after the open period, where exactly one trial call is let through → closed on success."""

    def __init__(self, name: str, policy: BreakerPolicy | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.name = name
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._events: deque[tuple[float, bool]] = deque()  # (when, failed)
        self._opened_at = 0.0
        self._open_for = 0.0
        self._reopens = 0
        self._trial_in_flight = False

    # -- queries ---------------------------------------------------------------------------
    @property
    def state(self) -> CircuitState:
        with self._lock:
            expired = self._clock() >= self._opened_at + self._open_for
            if self._state is CircuitState.OPEN and expired:
                return CircuitState.HALF_OPEN
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial through (0 when not open)."""
        with self._lock:
            if self._state is not CircuitState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self._open_for - self._clock())

    def snapshot(self) -> dict[str, Any]:
        state = self.state
        with self._lock:
            failures = sum(1 for _, failed in self._events if failed)
            return {"provider": self.name, "state": state.value, "failures": failures,
                    "requests": len(self._events), "open_for": round(self._open_for, 3),
                    "reopens": self._reopens}

    # -- the protocol: allow() before a call, then exactly one of the three after ----------
    def allow(self) -> bool:
        """May a call go to this provider now? In half-open, True for exactly one caller."""
        with self._lock:
            if self._state is CircuitState.CLOSED:
                return True
            if self._state is CircuitState.OPEN:
                if self._clock() < self._opened_at + self._open_for:
                    return False
                self._state = CircuitState.HALF_OPEN
                self._trial_in_flight = False
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state is not CircuitState.CLOSED:
                self._close()
                return
            self._push(self._clock(), failed=False)

    def record_failure(self, kind: ErrorKind = ErrorKind.UNKNOWN,
                       retry_after: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            if self._state is CircuitState.HALF_OPEN:
                self._reopens += 1
                self._open(now, retry_after)
                return
            if self._state is CircuitState.OPEN:
                if retry_after is not None:
                    self._open_for = max(self._open_for, self._bounded(retry_after))
                return
            self._push(now, failed=True)
            failures = sum(1 for _, failed in self._events if failed)
            if self.trips(kind, retry_after) or (failures >= self.policy.failure_threshold
                           and len(self._events) >= self.policy.minimum_requests):
                self._open(now, retry_after)

    def trips(self, kind: ErrorKind, retry_after: float | None) -> bool:
        """Does this one failure open the breaker at once?"""
        # A Retry-After says when the provider will take requests again: believe it.
        return kind in self.policy.trip_on or (
            kind is ErrorKind.RATE_LIMITED and bool(retry_after))

    def release(self, *, provider_answered: bool = False) -> None:
        """The call ended without a verdict on the provider's health (cancelled, or an error
        that is the request's fault). A provider that answered at all is alive: a half-open
        trial then closes the breaker."""
        with self._lock:
            if self._state is CircuitState.HALF_OPEN and self._trial_in_flight:
                if provider_answered:
                    self._close()
                else:
                    self._trial_in_flight = False

    def reset(self) -> None:
        with self._lock:
            self._close()
            self._reopens = 0

    # -- internals (lock held) ---------------------------------------------------------------
    def _push(self, now: float, *, failed: bool) -> None:
        self._events.append((now, failed))
        horizon = now - self.policy.window_seconds
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()

    def _bounded(self, seconds: float) -> float:
        return min(max(seconds, 0.0), self.policy.max_open_seconds)

    def _open(self, now: float, retry_after: float | None) -> None:
        period = self.policy.open_seconds * (self.policy.growth ** self._reopens)
        if retry_after is not None:
            period = max(period, retry_after)
        self._state = CircuitState.OPEN
        self._opened_at = now
        self._open_for = self._bounded(period)
        self._trial_in_flight = False
        self._events.clear()

    def _close(self) -> None:
        self._state = CircuitState.CLOSED
        self._events.clear()
        self._trial_in_flight = False
        self._reopens = 0

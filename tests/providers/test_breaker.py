"""Circuit breaker transitions on a fake clock (no sleeping)."""

from __future__ import annotations

import threading

from providers.breaker import CircuitBreaker, CircuitState
from providers.errors import ErrorKind
from providers.guards import breaker_for
from providers.policy import BreakerPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(**policy) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker("p", BreakerPolicy(**policy), clock=clock), clock


def fail(breaker: CircuitBreaker, n: int, kind=ErrorKind.SERVER_ERROR) -> None:
    for _ in range(n):
        assert breaker.allow()
        breaker.record_failure(kind)


def test_opens_after_threshold_with_minimum_requests() -> None:
    breaker, _ = make(failure_threshold=3, minimum_requests=5)
    fail(breaker, 3)
    assert breaker.state is CircuitState.CLOSED  # 3 failures but only 3 requests
    assert breaker.allow()
    breaker.record_success()
    assert breaker.allow()
    breaker.record_failure(ErrorKind.SERVER_ERROR)
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()


def test_failures_outside_the_window_are_forgotten() -> None:
    breaker, clock = make(failure_threshold=2, minimum_requests=2, window_seconds=10)
    fail(breaker, 1)
    clock.now += 11
    fail(breaker, 1)
    assert breaker.state is CircuitState.CLOSED


def test_trip_kinds_open_at_once() -> None:
    breaker, _ = make()
    fail(breaker, 1, ErrorKind.UNREACHABLE)
    assert breaker.state is CircuitState.OPEN


def test_half_open_lets_exactly_one_trial_through() -> None:
    breaker, clock = make(open_seconds=5)
    fail(breaker, 1, ErrorKind.TIMEOUT)
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # a second caller goes to the next provider
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_failed_trial_reopens_for_longer() -> None:
    breaker, clock = make(open_seconds=5, growth=2, max_open_seconds=18)
    fail(breaker, 1, ErrorKind.TIMEOUT)
    periods = []
    for _ in range(3):
        periods.append(breaker.retry_in())
        clock.now += breaker.retry_in()
        assert breaker.allow()
        breaker.record_failure(ErrorKind.TIMEOUT)
    periods.append(breaker.retry_in())
    assert periods == [5, 10, 18, 18]


def test_retry_after_sets_the_open_period() -> None:
    breaker, _ = make(open_seconds=5)
    assert breaker.allow()
    breaker.record_failure(ErrorKind.RATE_LIMITED, retry_after=42)
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in() == 42


def test_cancelled_trial_frees_the_slot_without_verdict() -> None:
    breaker, clock = make(open_seconds=1)
    fail(breaker, 1, ErrorKind.TIMEOUT)
    clock.now += 2
    assert breaker.allow()
    breaker.release()
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()  # the next caller gets the trial


def test_answer_that_is_the_requests_fault_closes_a_half_open_breaker() -> None:
    breaker, clock = make(open_seconds=1)
    fail(breaker, 1, ErrorKind.TIMEOUT)
    clock.now += 2
    assert breaker.allow()
    breaker.release(provider_answered=True)  # e.g. a 400: the provider is up
    assert breaker.state is CircuitState.CLOSED


def test_uncounted_errors_do_not_open() -> None:
    breaker, _ = make(failure_threshold=1, minimum_requests=1)
    for _ in range(10):
        assert breaker.allow()
        breaker.release(provider_answered=True)
    assert breaker.state is CircuitState.CLOSED


def test_registry_shares_one_breaker_per_provider() -> None:
    assert breaker_for("x:model") is breaker_for("x:model")
    assert breaker_for("x:model") is not breaker_for("y:model")


def test_concurrent_half_open_admits_one() -> None:
    breaker, clock = make(open_seconds=1)
    fail(breaker, 1, ErrorKind.TIMEOUT)
    clock.now += 2
    admitted = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        admitted.append(breaker.allow())

    threads = [threading.Thread(target=race) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 1

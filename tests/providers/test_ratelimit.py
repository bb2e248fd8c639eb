"""Token-bucket rate limiter on a fake clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from providers.policy import LimitPolicy
from providers.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_spacing() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(rpm=60, max_wait_seconds=100), clock=clock)
    waits = [limiter.reserve(0).wait for _ in range(4)]  # type: ignore[union-attr]
    assert waits == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_waiters_are_served_in_arrival_order() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(rpm=120, max_wait_seconds=100), clock=clock)
    waits = [limiter.reserve(0).wait for _ in range(10)]  # type: ignore[union-attr]
    # a burst of one second's worth (2), then one every 0.5 s, in arrival order
    assert waits == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])


def test_refill_over_time() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(rpm=60, max_wait_seconds=100), clock=clock)
    limiter.reserve(0)
    clock.now += 1.0
    assert limiter.reserve(0).wait == pytest.approx(0.0)  # type: ignore[union-attr]


def test_tokens_per_minute_and_correction() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(tpm=600, max_wait_seconds=100), clock=clock)
    first = limiter.reserve(500)
    assert first is not None and first.wait == 0
    # the estimate was 500 but the provider reported 100: 400 tokens come back
    limiter.correct(first, 100)
    second = limiter.reserve(500)
    assert second is not None and second.wait == pytest.approx(0.0)
    third = limiter.reserve(600)
    assert third is not None and third.wait == pytest.approx(60.0)  # 600 in debt at 10/s


def test_wait_over_the_bound_reserves_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(rpm=6, max_wait_seconds=5), clock=clock)
    assert limiter.reserve(0) is not None
    assert limiter.reserve(0) is None  # next slot in 10 s > 5 s
    clock.now += 10
    assert limiter.reserve(0) is not None


def test_refund_gives_the_slot_back() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitPolicy(rpm=60, max_wait_seconds=100), clock=clock)
    limiter.reserve(0)
    held = limiter.reserve(0)
    assert held is not None and held.wait == pytest.approx(1.0)
    limiter.refund(held)
    again = limiter.reserve(0)
    assert again is not None and again.wait == pytest.approx(1.0)


def test_request_larger_than_a_minute_of_tokens_still_fits() -> None:
    limiter = RateLimiter(LimitPolicy(tpm=100, max_wait_seconds=100), clock=Clock())
    assert limiter.reserve(10_000) is not None


async def test_async_waiters_finish_in_arrival_order() -> None:
    limiter = RateLimiter(LimitPolicy(rpm=600, request_burst=1, max_wait_seconds=10))
    order: list[int] = []

    async def worker(i: int) -> None:
        reservation = limiter.reserve(0)
        assert reservation is not None
        await asyncio.sleep(reservation.wait)
        order.append(i)

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(5)))
    assert order == list(range(5))
    assert time.monotonic() - started >= 0.35

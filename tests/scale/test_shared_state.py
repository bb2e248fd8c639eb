"""Breakers, rate limits and the response cache shared through the machine's real Redis.

Two objects with their own owners stand for two processes here (the state is only in Redis);
test_shared_processes.py does the same with real processes. Redis going away is a Redis of
the test's own, stopped and started again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from pytest_httpserver import HTTPServer

from providers.breaker import CircuitState
from providers.errors import ErrorKind
from providers.factory import get_chat_model
from providers.guards import breaker_for
from providers.policy import BreakerPolicy, CachePolicy, LimitPolicy
from providers.settings import ProvidersConfig, ProviderSettings
from providers.shared_breaker import SharedCircuitBreaker
from providers.shared_cache import SharedResponseCache
from providers.shared_ratelimit import SharedRateLimiter
from providers.shared_store import SharedStore, redacted_url
from tests.services import REDIS_URL, PrivateRedis, private_redis, redis_prefix
from tests.wire import OPENAI, serve

__all__ = ["private_redis", "redis_prefix"]
SLACK = 0.25  # seconds the budget refills between two calls on a busy machine (slots: 1 s)
POLICY = BreakerPolicy(failure_threshold=2, minimum_requests=2, open_seconds=0.3,
                       trial_lease_seconds=1.5)


def pair(prefix: str, policy: BreakerPolicy = POLICY) -> tuple[SharedCircuitBreaker, ...]:
    """Two breakers of one provider, as two processes would hold them."""
    return (SharedCircuitBreaker("p", SharedStore(REDIS_URL, prefix), policy),
            SharedCircuitBreaker("p", SharedStore(REDIS_URL, prefix), policy))


def test_failures_seen_by_one_open_the_breaker_for_both(redis_prefix: str) -> None:
    one, two = pair(redis_prefix)
    one.record_failure(ErrorKind.SERVER_ERROR)
    assert two.allow() and two.state is CircuitState.CLOSED
    two.record_failure(ErrorKind.SERVER_ERROR)  # the second failure, counted together
    assert one.state is CircuitState.OPEN and not one.allow() and not two.allow()
    assert 0 < one.retry_in() <= 0.3
    assert two.snapshot()["shared"] is True


def test_a_healthy_call_costs_one_round_trip(redis_prefix: str) -> None:
    one, two = pair(redis_prefix)
    assert one.allow()
    one.record_success()  # kept back...
    assert two.snapshot()["requests"] == 0
    assert one.allow()  # ...and sent with the next call
    assert two.snapshot()["requests"] == 1


def test_one_half_open_trial_for_all_and_its_success_closes_for_all(redis_prefix: str) -> None:
    one, two = pair(redis_prefix)
    one.record_failure(ErrorKind.TIMEOUT)  # trips at once
    time.sleep(0.35)
    assert one.state is CircuitState.HALF_OPEN
    assert [one.allow(), two.allow(), one.allow(), two.allow()] == [True, False, False, False]
    two.release()  # not its trial: nothing changes
    assert not two.allow()
    one.record_success()
    assert two.state is CircuitState.CLOSED and two.allow()


def test_a_failed_trial_reopens_for_longer(redis_prefix: str) -> None:
    one, two = pair(redis_prefix)
    one.record_failure(ErrorKind.TIMEOUT)
    time.sleep(0.35)
    assert two.allow()
    two.record_failure(ErrorKind.SERVER_ERROR)
    snap = one.snapshot()
    assert snap["state"] == "open" and snap["reopens"] == 1 and snap["open_for"] == 0.6


def test_a_trial_whose_process_died_is_given_to_another_after_its_lease(
        redis_prefix: str) -> None:
    one, two = pair(redis_prefix)
    one.record_failure(ErrorKind.TIMEOUT)
    time.sleep(0.35)
    assert one.allow() and not two.allow()
    time.sleep(1.55)  # `one` never reports back
    assert two.allow()


def test_rate_limit_budget_is_one_for_both(redis_prefix: str) -> None:
    policy = LimitPolicy(rpm=60, request_burst=2, max_wait_seconds=5)
    one = SharedRateLimiter("p", SharedStore(REDIS_URL, redis_prefix), policy)
    two = SharedRateLimiter("p", SharedStore(REDIS_URL, redis_prefix), policy)
    waits = [r.wait if r else None for r in (one.reserve(0), two.reserve(0), one.reserve(0),
                                             two.reserve(0))]
    assert waits[0] == 0 and waits[1] == 0  # the burst of two, whoever takes it
    # then one a second, served in the order the reservations arrived
    assert waits[2] == pytest.approx(1.0, abs=SLACK)
    assert waits[3] == pytest.approx(2.0, abs=SLACK)
    assert one.reserve(0, max_wait=1.0) is None  # nothing debited
    assert two.expected_wait() == pytest.approx(3.0, abs=SLACK)
    held = two.reserve(0)
    assert held is not None and held.shared
    one.refund(held)
    assert one.expected_wait() == pytest.approx(3.0, abs=SLACK)


def test_token_budget_is_corrected_for_both(redis_prefix: str) -> None:
    policy = LimitPolicy(tpm=600, max_wait_seconds=60)  # 10 tokens a second
    one = SharedRateLimiter("p", SharedStore(REDIS_URL, redis_prefix), policy)
    two = SharedRateLimiter("p", SharedStore(REDIS_URL, redis_prefix), policy)
    held = one.reserve(600)
    assert held is not None and held.wait == 0 and held.tokens == 600
    one.correct(held, 700)  # it used 100 more than it reserved: sent with its next call
    assert two.expected_wait(10) == pytest.approx(1.0, abs=SLACK)
    assert one.expected_wait(10) == pytest.approx(11.0, abs=SLACK)
    assert two.expected_wait(10) == pytest.approx(11.0, abs=SLACK)


def test_response_cache_entries_are_shared_with_the_disk_caches_ttl(
        redis_prefix: str, tmp_path: Path) -> None:
    policy = CachePolicy(ttl_seconds=60)
    one = SharedResponseCache(SharedStore(REDIS_URL, redis_prefix), policy)
    two = SharedResponseCache(SharedStore(REDIS_URL, redis_prefix), policy)
    one.put_message("k1", AIMessage("cached answer"))
    entry = two.get("k1")
    assert entry is not None and SharedResponseCache.decode(entry)[0].content == "cached answer"
    ttl = two.store.client.pttl(redis_prefix + "cache:k1")
    assert 59_000 < ttl <= 60_000
    assert two.stats()["entries"] == 1
    assert one.clear() == 1 and two.get("k1") is None
    assert not (tmp_path / "cache").exists()  # nothing went to the disk cache


def test_unreachable_redis_calls_succeed_with_one_warning(
        httpserver: HTTPServer, refused_url: str, caplog: pytest.LogCaptureFixture) -> None:
    serve(httpserver, OPENAI, OPENAI.reply("fine"))
    redis_url = refused_url.replace("http://", "redis://")
    policy = {"limits": {"rpm": 600}, "breaker": {"failure_threshold": 3}}
    config = ProvidersConfig(
        providers={"openai-compatible": ProviderSettings(
            base_url=httpserver.url_for("/v1"), api_key="sk-test-key", policy=policy)},
        shared_state_url=redis_url)
    model = get_chat_model("openai-compatible:m", config=config)
    with caplog.at_level(logging.WARNING, logger="providers.shared_store"):
        answers = [model.invoke("hi", temperature=0).content for _ in range(4)]
    assert answers == ["fine"] * 4
    assert answers and model.response_store() is not None
    warnings = [r for r in caplog.records if r.name == "providers.shared_store"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert len(httpserver.log) == 1  # the per-process (disk) cache answered the rest


def test_redis_stopped_mid_run_then_back(private_redis: PrivateRedis,
                                         monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    from providers import shared_store

    monkeypatch.setattr(shared_store, "RETRY_SECONDS", 0.2)
    store = SharedStore(private_redis.url, "t:")
    breaker = breaker_for("p", POLICY, store)
    assert isinstance(breaker, SharedCircuitBreaker)
    breaker.record_success()
    assert breaker.allow()  # takes the success along
    assert store.client.exists("t:breaker:p:events")
    with caplog.at_level(logging.INFO, logger="providers.shared_store"):
        private_redis.stop()
        for _ in range(2):  # per-process state answers, one warning for the outage
            assert breaker.allow()
            breaker.record_failure(ErrorKind.SERVER_ERROR)
        assert not breaker.allow()  # the local breaker opened on its own failures
        private_redis.start()
        time.sleep(0.25)
        assert breaker.allow()  # the shared state again: it never saw those failures
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    store.close()


def test_urls_lose_their_passwords_in_messages() -> None:
    assert redacted_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted_url("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"
    assert redacted_url("redis://h:6379") == "redis://h:6379"


def test_health_pings_the_shared_state(refused_url: str) -> None:
    from localagent.cli.health_cmd import check_shared_state
    from localagent.config.schema import Settings

    assert check_shared_state(Settings()) is None  # not configured: no line
    ok = check_shared_state(Settings(system={"shared_state_url": REDIS_URL}))
    assert ok is not None and ok.status == "ok" and "ping" in ok.detail
    down = refused_url.replace("http://", "redis://:hunter2pw@")
    warn = check_shared_state(Settings(system={"shared_state_url": down}))
    assert warn is not None and warn.status == "warn" and "hunter2pw" not in warn.detail
    assert "each process keeps its own" in warn.hint


def test_a_shared_state_url_that_is_not_redis_is_refused() -> None:
    from pydantic import ValidationError

    from localagent.config.schema import Settings

    with pytest.raises(ValidationError, match="is not a redis://"):
        Settings(system={"shared_state_url": "http://user:pw@cache:6379"})
    legacy = Settings(system={"checkpoint_db": "/tmp/old.sqlite"})  # the old name still works
    assert legacy.system.checkpoint_url == "/tmp/old.sqlite"

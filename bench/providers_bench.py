"""Provider-layer benchmarks P2, P5, P8 (P1 is in overhead_bench): each a ratio or
difference against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import (
    EchoModel,
    hanging_url,
    median,
    openai_client,
    openai_server,
    refused_url,
    timed,
    user_openai_client,
)
from providers.cache import ResponseCache
from providers.guards import reset_breakers, reset_limiters
from providers.policy import CachePolicy, LimitPolicy, ProviderPolicy
from providers.resilient import ResilientChatModel


@dataclass
class Row:
    name: str
    measured: str
    baseline: str
    result: str
    goal: str
    ok: bool


def _no_cache() -> CachePolicy:
    return CachePolicy(enabled=False)


def _paired(baseline: Callable[[], object], candidate: Callable[[], object], n: int,
            before: Callable[[], object] | None = None) -> tuple[float, float]:
    """Medians of interleaved runs (baseline, candidate, baseline, ...), so drift hits both."""
    base, cand = [], []
    for _ in range(n):
        base.append(timed(baseline, 1)[0])
        if before is not None:
            before()
        cand.append(timed(candidate, 1)[0])
    return median(base), median(cand)


def p2_failover(quick: bool) -> list[Row]:
    """Primary refusing connections / hanging, backup a local OpenAI-compatible server."""
    rows = []
    trials = 15 if quick else 40
    with openai_server() as url:
        backup = openai_client(url)
        timed(lambda: backup.invoke("ping"), 20)
        model = ResilientChatModel(models=[openai_client(refused_url()), backup],
                                   cache_policy=_no_cache())

        def fresh_breakers() -> None:
            reset_breakers()
            model.reset_chain()

        base, first = _paired(lambda: backup.invoke("ping"), lambda: model.invoke("ping"),
                              trials, before=fresh_breakers)
        rows.append(Row("P2 refused: first request", f"{first * 1e3:.2f} ms",
                        f"{base * 1e3:.2f} ms", f"+{(first - base) * 1e3:.2f} ms", "<= +5 ms",
                        first - base <= 0.005))
        reset_breakers()
        user_built = ResilientChatModel(models=[user_openai_client(refused_url()), backup],
                                        cache_policy=_no_cache())

        def fresh_user_breakers() -> None:
            reset_breakers()
            user_built.reset_chain()

        base, user_first = _paired(lambda: backup.invoke("ping"),
                                   lambda: user_built.invoke("ping"), trials,
                                   before=fresh_user_breakers)
        rows.append(Row("P2 refused: first request, user-built ChatOpenAI (defaults)",
                        f"{user_first * 1e3:.2f} ms", f"{base * 1e3:.2f} ms",
                        f"{(user_first - base) * 1e3:+.2f} ms", "<= +5 ms",
                        user_first - base <= 0.005))
        reset_breakers()
        model.reset_chain()
        model.invoke("ping")  # opens the breaker
        base, open_ = _paired(lambda: backup.invoke("ping"), lambda: model.invoke("ping"),
                              trials * 5)
        rows.append(Row("P2 refused: breaker open", f"{open_ * 1e3:.3f} ms",
                        f"{base * 1e3:.3f} ms", f"{(open_ - base) * 1e3:+.3f} ms",
                        "<= +0.1 ms", open_ - base <= 0.0001))

        timeout = 0.5
        with hanging_url() as hang:
            reset_breakers()
            hung = ResilientChatModel(models=[openai_client(hang, timeout=timeout), backup],
                                      cache_policy=_no_cache())
            first_hang = timed(lambda: hung.invoke("ping"), 1)[0]
            base, later = _paired(lambda: backup.invoke("ping"), lambda: hung.invoke("ping"),
                                  trials)
            skipped = hung.invoke("ping").response_metadata["localagent"]["attempts"][0]
        rows.append(Row("P2 hanging: first request", f"{first_hang * 1e3:.0f} ms",
                        f"timeout {timeout * 1e3:.0f} ms", f"{first_hang / timeout:.2f}x timeout",
                        "bounded by timeout", first_hang <= timeout + 0.25))
        rows.append(Row("P2 hanging: later requests", f"{later * 1e3:.2f} ms",
                        f"{base * 1e3:.2f} ms", f"{(later - base) * 1e3:+.2f} ms",
                        "primary skipped", skipped["outcome"] == "breaker_open"))
    return rows


def p5_cache(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as directory:
        store = ResponseCache(CachePolicy(), directory=directory)
        model = ResilientChatModel(models=[EchoModel(temperature=0)], response_cache=store)
        bare = EchoModel(temperature=0)
        model.invoke("cached question")
        n = 300 if quick else 2000
        hits = median(timed(lambda: model.invoke("cached question"), n))
        base = median(timed(lambda: bare.invoke("cached question"), n))
        store.close()
    return [Row("P5 cache hit", f"{hits * 1e3:.3f} ms", f"bare {base * 1e3:.3f} ms",
                f"{hits / base:.2f}x bare", "<= 1 ms", hits <= 0.001)]


def p8_limiter(quick: bool) -> list[Row]:
    """120 rpm through the wrapper, 20 concurrent callers, for 30 s (10 s with --quick)."""
    duration = 10.0 if quick else 30.0
    rpm = 120.0
    reset_limiters()
    policy = ProviderPolicy(limits=LimitPolicy(rpm=rpm, max_wait_seconds=120))
    model = ResilientChatModel(models=[EchoModel(model_name="limited")], policy=policy,
                               cache_policy=_no_cache())
    admitted: list[float] = []

    async def caller(start: float) -> None:
        while time.monotonic() - start < duration + 0.05:
            await model.ainvoke("ping")
            admitted.append(time.monotonic() - start)

    async def run() -> None:
        start = time.monotonic()
        tasks = [asyncio.create_task(caller(start)) for _ in range(20)]
        await asyncio.sleep(duration + 0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    # slots fall due at 0, 1/rate, ..., duration; the one due at `duration` is admitted a few
    # ms later by the event loop, hence the 50 ms grace
    inside = sorted(t for t in admitted if t <= duration + 0.05)
    burst = max(1.0, rpm / 60)
    expected = burst + rpm / 60 * duration
    steady = [t for t in inside if t > 0.25]
    rate = (len(steady) - 1) / (steady[-1] - steady[0]) * 60 if len(steady) > 1 else 0.0
    return [
        Row(f"P8 limiter admitted in {duration:.0f} s", f"{len(inside)}",
            f"{expected:.0f} (burst + rate)", f"{len(inside) / expected:.3f}x", "within ±2%",
            abs(len(inside) / expected - 1) <= 0.02),
        Row("P8 limiter steady rate", f"{rate:.1f} rpm", f"{rpm:.0f} rpm",
            f"{rate / rpm:.3f}x", "within ±2%", abs(rate / rpm - 1) <= 0.02),
    ]


ALL = {"P2": p2_failover, "P5": p5_cache, "P8": p8_limiter}

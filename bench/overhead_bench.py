"""P1: what the wrapper costs per call, against the bare model measured in the same run.

Both sides run in alternating rounds and each result is the median of the per-round ratios
(or differences), so drift in the machine's load cancels. In-process rows time the calling
thread's CPU (``time.thread_time``): other load on a shared machine lands on neither side.
Rows with another thread or a socket in the path time the wall clock."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.common import (
    EchoModel,
    Rounds,
    WaitingEchoModel,
    interleaved,
    interleaved_async,
    median,
    openai_client,
    openai_server,
    paired,
    user_openai_client,
)
from bench.providers_bench import Row
from providers.policy import CachePolicy
from providers.resilient import ResilientChatModel

GOAL = 1.05
# seconds a worker thread may add to a sync call: its wake-ups, which a busy machine
# stretches; small next to any call that can hang (the only kind that needs the thread)
WAIT_GOAL = 0.001


def _ratio_row(name: str, samples: Rounds, key: str, base: str = "bare",
               goal: float = GOAL, unit: float = 1e6, label: str = "us") -> Row:
    ratio = paired(samples, key, base)
    return Row(name, f"{median(samples[key]) * unit:.1f} {label}",
               f"{median(samples[base]) * unit:.1f} {label}", f"{ratio:.3f}x",
               f"<= {goal:.2f}x", ratio <= goal)


def _wrap(*models: Any, **kwargs: Any) -> ResilientChatModel:
    return ResilientChatModel(models=list(models), **kwargs)


def p1_overhead(quick: bool) -> list[Row]:
    """The wrapper (primary and backup) against the bare model, on an uncacheable call
    (temperature unset) with the default policy, and with the cache off."""
    rounds, n = (9, 200) if quick else (25, 400)
    bare = EchoModel()
    default = _wrap(EchoModel(), EchoModel(model_name="backup"))
    off = _wrap(EchoModel(), EchoModel(model_name="backup"),
                cache_policy=CachePolicy(enabled=False))
    fallbacks = bare.with_fallbacks([EchoModel(model_name="backup")])
    sync = interleaved({"bare": lambda: bare.invoke("ping"),
                        "default": lambda: default.invoke("ping"),
                        "off": lambda: off.invoke("ping"),
                        "fallbacks": lambda: fallbacks.invoke("ping")},
                       rounds, n, clock=time.thread_time)
    asynchronous = interleaved_async({"bare": lambda: bare.ainvoke("ping"),
                                      "default": lambda: default.ainvoke("ping")}, rounds, n)
    waiting = _wrap(WaitingEchoModel(), EchoModel(model_name="backup"))
    wall = interleaved({"inline": lambda: default.invoke("ping"),
                        "waiting": lambda: waiting.invoke("ping")}, rounds, n // 4)
    added = paired(wall, "waiting", "inline", operator.sub)
    return [
        _ratio_row("P1 default policy, uncacheable call", sync, "default"),
        _ratio_row("P1 cache off", sync, "off"),
        _ratio_row("P1 default policy, async", asynchronous, "default"),
        _ratio_row("P1 vs with_fallbacks", sync, "default", base="fallbacks", goal=1.0),
        Row("P1 unknown model: sync wait in a thread", f"{median(wall['waiting']) * 1e6:.0f} us",
            f"{median(wall['inline']) * 1e6:.0f} us (inline)", f"{added * 1e6:+.0f} us",
            f"<= +{WAIT_GOAL * 1e6:.0f} us", added <= WAIT_GOAL),
    ]


def p1_http(quick: bool) -> list[Row]:
    """The wrapper over ChatOpenAI against the same client alone, on a local server that
    answers like a real one: as the provider factory builds it, and as a user builds it
    (SDK defaults, which the wrapper replaces with its own policy on a copy)."""
    rounds, n = (41, 5) if quick else (151, 5)
    rows = []
    with openai_server() as url:
        builds: list[tuple[str, Callable[[str], Any]]] = [
            ("P1 over HTTP, ChatOpenAI from the factory", openai_client),
            ("P1 over HTTP, user-built ChatOpenAI (defaults)", user_openai_client)]
        for name, build in builds:
            models = {"bare": build(url),
                      "wrapped": _wrap(build(url), cache_policy=CachePolicy(enabled=False))}
            times = interleaved({key: partial(model.invoke, "ping")
                                 for key, model in models.items()}, rounds, n)
            rows.append(_ratio_row(name, times, "wrapped", unit=1e3, label="ms"))
    return rows


ALL = {"P1": p1_overhead, "P1H": p1_http}

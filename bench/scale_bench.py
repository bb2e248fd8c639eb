"""Scale-out benchmarks on the machine's PostgreSQL and Redis (a database and a key prefix of
their own, removed afterwards).

X1: checkpoint cost per super-step, PostgreSQL against SQLite, on a chain of nodes run with
durability="sync" (every step's checkpoint written before the next step starts).
X2, X3: what the shared rate limiter and the shared breaker add to a call over the
in-process ones (wall clock: a round trip to Redis is the cost), on an instant model.
"""

from __future__ import annotations

import asyncio
import operator
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from bench.common import EchoModel, median, paired, timed
from bench.providers_bench import Row
from providers.policy import CachePolicy, LimitPolicy, ProviderPolicy
from providers.resilient import ResilientChatModel

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
STEPS = 20
SHARED_GOAL = 0.001  # seconds a shared limiter or breaker may add to a call on loopback


class ChainState(TypedDict):
    step: int
    notes: list[str]


def _chain(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph

    def node(state: ChainState) -> dict[str, Any]:
        # a step's typical update: a counter and a paragraph of text
        return {"step": state["step"] + 1, "notes": [*state["notes"][-4:], "x" * 400]}

    builder = StateGraph(ChainState)
    names = [f"n{i}" for i in range(STEPS)]
    for name in names:
        builder.add_node(name, node)
    builder.add_edge(START, names[0])
    for first, then in pairwise(names):
        builder.add_edge(first, then)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"la_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def _saver(url: str) -> AsyncIterator[Any]:
    from localagent.checkpoints import open_saver
    from localagent.config.schema import Settings

    async with open_saver(Settings(system={"checkpoint_url": url})) as saver:
        yield saver


def x1_checkpoints(quick: bool) -> list[Row]:
    """Seconds per super-step on each database, runs alternating (the median of each)."""
    runs = 6 if quick else 20

    async def measure(sqlite: str, postgres: str) -> dict[str, list[float]]:
        samples: dict[str, list[float]] = {"sqlite": [], "postgres": []}
        async with _saver(sqlite) as lite, _saver(postgres) as pg:
            graphs = {"sqlite": _chain(lite), "postgres": _chain(pg)}
            for index in range(runs + 1):  # the first run of each warms up
                order = list(graphs.items())
                for name, graph in order[::-1] if index % 2 else order:
                    config = {"configurable": {"thread_id": f"t{index}"}}
                    started = time.perf_counter()
                    await graph.ainvoke({"step": 0, "notes": []}, config, durability="sync")
                    if index:
                        samples[name].append((time.perf_counter() - started) / STEPS)
        return samples

    with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
        samples = asyncio.run(measure(str(Path(tmp) / "cp.sqlite"), url))
    pg, lite = median(samples["postgres"]), median(samples["sqlite"])
    return [Row("X1 checkpoint per super-step, PostgreSQL", f"{pg * 1e3:.2f} ms",
                f"SQLite {lite * 1e3:.2f} ms", f"{pg / lite:.2f}x SQLite",
                "<= 2x SQLite", pg / lite <= 2.0)]


def _rounds(fns: dict[str, Callable[[], Any]], rounds: int, n: int) -> dict[str, list[float]]:
    """The median wall time of a call, per round of n calls of each in turn: a median, as a
    shared machine's scheduler stretches a few calls by milliseconds, whichever side they
    are on."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        timed(fn, max(n // 5, 20))
    for index in range(rounds):
        order = list(fns.items())
        for name, fn in order[::-1] if index % 2 else order:
            samples[name].append(median(timed(fn, n)))
    return samples


def _model(policy: ProviderPolicy, store: Any) -> ResilientChatModel:
    return ResilientChatModel(models=[EchoModel(model_name="shared-bench")], policy=policy,
                              cache_policy=CachePolicy(enabled=False), shared_store=store)


def _added(name: str, policy: ProviderPolicy, quick: bool, *, shared_breaker: bool = True
           ) -> Row:
    from providers.guards import breaker_for, reset_breakers, reset_limiters
    from providers.shared_store import SharedStore

    rounds, n = (7, 100) if quick else (15, 300)
    reset_breakers()
    reset_limiters()
    store = SharedStore(REDIS_URL, f"la-bench:{uuid.uuid4().hex[:10]}:")
    local, shared = _model(policy, None), _model(policy, store)
    if not shared_breaker:  # the limiter alone is shared
        for cand in shared.chain:
            cand.breaker = breaker_for(cand.name, policy.breaker)
    try:
        samples = _rounds({"local": lambda: local.invoke("ping"),
                           "shared": lambda: shared.invoke("ping")}, rounds, n)
        keys = list(store.client.scan_iter(match=store.prefix + "*"))
        if keys:
            store.client.delete(*keys)
    finally:
        store.close()
        reset_breakers()
        reset_limiters()
    added = paired(samples, "shared", "local", compare=operator.sub)
    return Row(name, f"+{added * 1e6:.0f} us", f"in-process {median(samples['local']) * 1e6:.0f}"
               " us a call", f"{median(samples['shared']) * 1e6:.0f} us a call",
               f"<= +{SHARED_GOAL * 1e3:.0f} ms", added <= SHARED_GOAL)


def x2_shared_limiter(quick: bool) -> list[Row]:
    """A limit that never makes anyone wait: only the bookkeeping is measured."""
    policy = ProviderPolicy(limits=LimitPolicy(rpm=1e9, tpm=1e12))
    return [_added("X2 shared rate limiter, added per call", policy, quick,
                   shared_breaker=False)]


def x3_shared_breaker(quick: bool) -> list[Row]:
    """A closed breaker: allow() before the call, record_success() after."""
    return [_added("X3 shared breaker, added per call", ProviderPolicy(), quick)]


ALL: dict[str, Callable[[bool], list[Row]]] = {
    "X1": x1_checkpoints, "X2": x2_shared_limiter, "X3": x3_shared_breaker}

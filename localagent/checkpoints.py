"""The checkpoint database the CLI's workflow and chat threads live in: a SQLite file (the
default) or PostgreSQL (``system.checkpoint_url: postgresql://...``), where threads started
on one machine can be inspected and resumed from another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localagent import paths

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from localagent.config.schema import Settings

DB_NAME = "checkpoints.sqlite"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POOL_SIZE = 4  # connections per process: a run's parallel branches write their checkpoints
CONNECT_TIMEOUT = 10.0
MIGRATION_LOCK = 0x4C41_4350  # "LACP": one process runs the saver's migrations at a time

_migrated: set[str] = set()


class CheckpointStoreError(RuntimeError):
    """The checkpoint database cannot be opened."""


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def checkpoint_url(settings: Settings) -> str:
    """``system.checkpoint_url`` if set, else ``checkpoints.sqlite`` in the user data dir."""
    configured = settings.system.checkpoint_url
    if configured and is_postgres(configured):
        return configured
    return str(Path(configured).expanduser() if configured else paths.data_dir() / DB_NAME)


def db_file(settings: Settings) -> Path:
    """The SQLite file (for a PostgreSQL URL: an error)."""
    url = checkpoint_url(settings)
    if is_postgres(url):
        raise CheckpointStoreError("the checkpoints are in PostgreSQL, not in a file")
    return Path(url)


def describe(settings: Settings) -> str:
    """Where the checkpoints are, for messages (a URL without its password)."""
    from providers.shared_store import redacted_url

    return redacted_url(checkpoint_url(settings))


@asynccontextmanager
async def open_saver(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """An async saver on the database: ``AsyncSqliteSaver`` on the file (created, 0600, on
    first use) or ``AsyncPostgresSaver`` on a connection pool (migrated on first use)."""
    url = checkpoint_url(settings)
    if is_postgres(url):
        async with _postgres(url) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    async with AsyncSqliteSaver.from_conn_string(str(path)) as sqlite:
        await sqlite.setup()
        if fresh:
            path.chmod(0o600)  # checkpoints hold the conversation and the code under work
        yield sqlite


@asynccontextmanager
async def _postgres(url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    from providers.shared_store import redacted_url

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=POOL_SIZE, open=False, name="localagent-checkpoints",
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except PoolTimeout as exc:
        await pool.close()
        raise CheckpointStoreError(
            f"cannot connect to the checkpoint database {redacted_url(url)} within "
            f"{CONNECT_TIMEOUT:.0f}s: is PostgreSQL running there? (system.checkpoint_url)"
        ) from exc
    try:
        saver = AsyncPostgresSaver(pool)
        if url not in _migrated:
            await _migrate(saver, pool)
            _migrated.add(url)
        yield saver
    finally:
        await pool.close()


async def _migrate(saver: Any, pool: Any) -> None:
    """The saver's migrations, one process at a time: processes starting together on a fresh
    database would otherwise race to create the same tables. The lock is polled, not waited
    for: a session waiting inside a statement would hold up the migrations' CREATE INDEX
    CONCURRENTLY, which waits for every open transaction."""
    async with pool.connection() as lock:
        while not (await (await lock.execute("SELECT pg_try_advisory_lock(%s) AS got",
                                             (MIGRATION_LOCK,))).fetchone())["got"]:
            await asyncio.sleep(0.05)
        try:
            await saver.setup()
        finally:
            await lock.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def postgres_status(url: str, timeout: float = 5.0) -> str:
    """Server version and migration state of a PostgreSQL checkpoint database, read-only
    (for ``localagent health``); raises ``CheckpointStoreError`` when it cannot connect."""
    import psycopg

    from providers.shared_store import redacted_url

    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout)), autocommit=True) as db:
            version = db.execute("SHOW server_version").fetchone()
            table = db.execute("SELECT to_regclass('checkpoint_migrations')").fetchone()
            migrated = None
            if table and table[0]:
                row = db.execute("SELECT max(v) FROM checkpoint_migrations").fetchone()
                migrated = row[0] if row else None
    except psycopg.Error as exc:
        raise CheckpointStoreError(f"{redacted_url(url)}: {str(exc).strip()}") from exc
    server = f"PostgreSQL {version[0] if version else '?'}"
    if migrated is None:
        return f"{server}, tables created on the first run"
    return f"{server}, schema v{migrated}"


async def latest_threads(saver: BaseCheckpointSaver[Any], *, graph: str | None = None,
                         limit: int = 50) -> list[dict[str, Any]]:
    """The newest checkpoint of each thread, newest thread first; ``graph`` filters on the
    ``graph`` metadata the CLI puts on every run."""
    query = {"graph": graph} if graph else None
    if type(saver).__name__ == "AsyncPostgresSaver":
        return await _latest_postgres(saver, query, limit)
    seen: dict[str, dict[str, Any]] = {}
    async for item in saver.alist(None, filter=query):
        thread = item.config["configurable"]["thread_id"]
        if thread not in seen:
            seen[thread] = {"thread_id": thread, "checkpoint_id": item.checkpoint["id"],
                            "ts": item.checkpoint["ts"], "metadata": dict(item.metadata or {})}
            if len(seen) >= limit:
                break
    return sorted(seen.values(), key=lambda t: t["ts"], reverse=True)


# The newest checkpoint of each thread, from the checkpoints table alone: the saver's alist
# would read every checkpoint of every thread with its blobs to find them.
LATEST_SQL = """
SELECT thread_id, checkpoint_id, checkpoint ->> 'ts' AS ts, metadata FROM (
    SELECT DISTINCT ON (thread_id) thread_id, checkpoint_id, checkpoint, metadata
    FROM checkpoints WHERE checkpoint_ns = '' AND metadata @> %s::jsonb
    ORDER BY thread_id, checkpoint_id DESC) AS latest
ORDER BY checkpoint ->> 'ts' DESC LIMIT %s
"""


async def _latest_postgres(saver: Any, query: dict[str, Any] | None, limit: int
                           ) -> list[dict[str, Any]]:
    import json

    async with saver.conn.connection() as conn:
        cursor = await conn.execute(LATEST_SQL, (json.dumps(query or {}), limit))
        rows = await cursor.fetchall()
    return [{"thread_id": row["thread_id"], "checkpoint_id": row["checkpoint_id"],
             "ts": row["ts"], "metadata": dict(row["metadata"] or {})} for row in rows]

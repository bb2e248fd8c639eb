"""The SQLite checkpoint database the CLI's workflow and chat threads live in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localagent import paths

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from localagent.config.schema import Settings

DB_NAME = "checkpoints.sqlite"


def db_file(settings: Settings) -> Path:
    """``system.checkpoint_db`` if set, else ``checkpoints.sqlite`` in the user data dir."""
    configured = settings.system.checkpoint_db
    return Path(configured).expanduser() if configured else paths.data_dir() / DB_NAME


@asynccontextmanager
async def open_saver(settings: Settings) -> AsyncIterator[AsyncSqliteSaver]:
    """An ``AsyncSqliteSaver`` on the database (created, 0600, on first use)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = db_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.setup()
        if fresh:
            path.chmod(0o600)  # checkpoints hold the conversation and the code under work
        yield saver


async def latest_threads(saver: AsyncSqliteSaver, *, graph: str | None = None,
                         limit: int = 50) -> list[dict[str, Any]]:
    """The newest checkpoint of each thread, newest thread first; ``graph`` filters on the
    ``graph`` metadata the CLI puts on every run."""
    seen: dict[str, dict[str, Any]] = {}
    query = {"graph": graph} if graph else None
    async for item in saver.alist(None, filter=query):
        thread = item.config["configurable"]["thread_id"]
        if thread not in seen:
            seen[thread] = {"thread_id": thread, "checkpoint_id": item.checkpoint["id"],
                            "ts": item.checkpoint["ts"], "metadata": dict(item.metadata or {})}
            if len(seen) >= limit:
                break
    return sorted(seen.values(), key=lambda t: t["ts"], reverse=True)

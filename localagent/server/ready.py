"""``/ready``: the checkpoint database opens and at least one provider of the default chain
is reachable (checked without spending tokens)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from localagent.server.gateway import ModelTable

HEALTH_TIMEOUT = 3.0


def _database(settings: Settings) -> dict[str, Any]:
    from localagent.checkpoints import (
        CheckpointStoreError,
        checkpoint_url,
        describe,
        is_postgres,
        postgres_status,
    )

    if is_postgres(checkpoint_url(settings)):
        where = describe(settings)  # without its password
        try:
            return {"ok": True, "path": where,
                    "status": postgres_status(checkpoint_url(settings), HEALTH_TIMEOUT)}
        except CheckpointStoreError as exc:
            return {"ok": False, "path": where, "error": str(exc)}
    path = Path(checkpoint_url(settings))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path, timeout=HEALTH_TIMEOUT) as conn:
            conn.execute("select 1").fetchone()
        conn.close()
    except (OSError, sqlite3.Error) as exc:
        return {"ok": False, "path": str(path), "error": str(exc)}
    return {"ok": True, "path": str(path)}


def _providers(table: ModelTable) -> list[dict[str, Any]]:
    from providers.errors import ProviderError

    try:
        model = table.get("default", None, None, None)
    except Exception as exc:  # an unbuildable chain is the answer, not a crash
        message = exc.message if isinstance(exc, ProviderError) else str(exc)
        return [{"name": "default", "reachable": False, "error": message}]
    return [{"name": row["name"], "reachable": bool(row.get("reachable")),
             "error": row.get("error")} for row in model.health(timeout=HEALTH_TIMEOUT)]


def readiness(settings: Settings, table: ModelTable) -> dict[str, Any]:
    """{ready, database, providers}; runs blocking checks (call it in a thread)."""
    from localagent.redact import scrub_data

    database = _database(settings)
    providers = _providers(table)
    ready = database["ok"] and any(p["reachable"] for p in providers)
    result: dict[str, Any] = scrub_data({"ready": ready, "database": database,
                                         "providers": providers})
    return result

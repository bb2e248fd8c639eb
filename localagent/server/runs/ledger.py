"""The runs a server has under way, kept in a file next to the checkpoint database so that
the next start resumes the ones a stop (SIGTERM, a crash) interrupted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Ledger:
    """thread id -> what its pending leg needs: the run settings and its input (``start``
    with request and workspace, ``answer`` for the question ``interrupt_id``, or nothing:
    continue from the last checkpoint)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict):
            self._entries = {str(k): v for k, v in data.items() if isinstance(v, dict)}

    def entries(self) -> dict[str, dict[str, Any]]:
        return dict(self._entries)

    def put(self, thread: str, entry: dict[str, Any]) -> None:
        self._entries[thread] = entry
        self._save()

    def consumed(self, thread: str) -> None:
        """The leg has started from a checkpoint: a restart continues without the input."""
        entry = self._entries.get(thread)
        if entry is not None and entry.get("input") is not None:
            self._entries[thread] = {**entry, "input": None}
            self._save()

    def drop(self, thread: str) -> None:
        if self._entries.pop(thread, None) is not None:
            self._save()

    def _save(self) -> None:
        from localagent.atomic import write_private

        write_private(self.path, json.dumps(self._entries, indent=1, default=str))

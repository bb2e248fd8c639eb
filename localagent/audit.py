"""The audit log: JSON lines, owner-only (0600). Never holds a secret."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from localagent.redact import scrub_data

_lock = threading.Lock()


class AuditLog:
    """Append-only record of key events and policy denials."""

    def __init__(self, path: Path | None = None, *, enabled: bool = True) -> None:
        if path is None:
            from localagent.paths import audit_log_file

            path = audit_log_file()
        self.path = Path(path)
        self.enabled = enabled

    def record(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, "pid": os.getpid(),
                 **scrub_data(fields)}
        line = (json.dumps(entry, default=str, sort_keys=False) + "\n").encode()
        with _lock:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
                os.write(fd, line)
            finally:
                os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

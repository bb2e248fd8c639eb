"""Progress of an eval: a live table on a terminal, one line per finished attempt otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

COLOUR = {"passed": "green", "failed": "red", "error": "magenta", "running": "cyan",
          "checking": "cyan", "preparing": "cyan", "queued": "dim"}


class EvalProgress:
    def __init__(self, *, live: bool, quiet: bool = False) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.since: dict[str, float] = {}
        self.quiet = quiet
        self._live: Any = None
        if live and not quiet:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._render(), console=Console(stderr=True),
                              refresh_per_second=2, transient=False)

    def __call__(self, key: str, info: dict[str, Any]) -> None:
        state = info.get("outcome") or info.get("status", "")
        if state == "running":
            self.since[key] = time.monotonic()
        self.rows[key] = {"state": state, "reason": info.get("reason") or "",
                          "seconds": info.get("seconds")}
        if self._live is not None:
            self._live.update(self._render())
        elif "outcome" in info and not self.quiet:
            done = sum("seconds" in r and r["seconds"] is not None for r in self.rows.values())
            reason = f" ({info['reason'][:100]})" if info.get("reason") else ""
            print(f"[{done}/{len(self.rows)}] {key}: {state}{reason} "
                  f"in {info.get('seconds', 0):.1f}s", file=sys.stderr, flush=True)

    def _render(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="eval")
        for name in ("attempt", "state", "s", "reason"):
            table.add_column(name)
        now = time.monotonic()
        for key, row in self.rows.items():
            seconds = row["seconds"]
            if seconds is None and key in self.since:
                seconds = now - self.since[key]
            colour = COLOUR.get(row["state"], "white")
            table.add_row(escape(key), f"[{colour}]{row['state']}[/]",
                          "" if seconds is None else f"{seconds:.0f}",
                          escape(row["reason"][:60]))
        return table

    def __enter__(self) -> EvalProgress:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()

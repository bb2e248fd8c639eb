"""Live progress of a workflow run: a Rich live table on a terminal, plain lines otherwise,
JSON lines with ``--stream``. All views read one ``Tracker`` fed by the graph's stream."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from localagent.workflow.progress import Tracker, View

MARK = {"pending": "·", "running": "▶", "done": "✓", "failed": "✗", "skipped": "-"}


class LineView(View):
    """One line per phase and branch on stderr (no terminal, or a dumb one)."""

    def event(self, event: dict[str, Any]) -> None:
        super().event(event)
        kind = event.get("event")
        if kind == "phase_started":
            line = f"▶ {event['phase']}"
        elif kind == "phase_finished":
            line = f"✓ {event['phase']} ({event.get('seconds')}s)"
        elif kind == "phase_failed":
            line = f"✗ {event['phase']}: {event.get('error', '')}"
        elif kind in ("branch_started", "branch_finished"):
            state = "started" if kind == "branch_started" else event.get("status", "")
            line = f"  {event['phase']}/{event.get('stream')} {state}"
        else:
            return
        print(line, file=sys.stderr, flush=True)

    def warn(self, text: str) -> None:
        print(f"⚠ {text}", file=sys.stderr, flush=True)


class JsonLinesView(View):
    """Each progress event as one JSON line on stdout (``--format json --stream``)."""

    def event(self, event: dict[str, Any]) -> None:
        super().event(event)
        print(json.dumps(event, default=str), flush=True)

    def warn(self, text: str) -> None:
        print(json.dumps({"event": "warning", "message": text}), flush=True)


class LiveView(View):
    """A Rich live table: phases with status and timings, running branches, tokens, cost."""

    def __init__(self, tracker: Tracker) -> None:
        super().__init__(tracker)
        self._live: Any = None

    def render(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        for name, info in self.tracker.phases.items():
            seconds = info["seconds"]
            if info["status"] == "running" and name in self.tracker._started:
                seconds = round(time.monotonic() - self.tracker._started[name], 1)
            style = {"running": "bold yellow", "done": "green", "failed": "red"}.get(
                info["status"], "dim")
            table.add_row(f"[{style}]{MARK[info['status']]} {name}[/]",
                          "" if seconds is None else f"{seconds}s")
        for key, branch in self.tracker.running_branches():
            table.add_row(f"    [cyan]↳ {key}[/] [dim]{branch.get('role', '')}[/]",
                          f"{time.monotonic() - branch['since']:.0f}s")
        for warning in self.tracker.warnings:
            table.add_row(f"[yellow]⚠ {escape(warning)}[/]", "")
        use = self.tracker.usage
        table.add_row(f"[dim]{int(use['model_calls'])} model calls · "
                      f"{int(use['input_tokens'])} in / {int(use['output_tokens'])} out tokens · "
                      f"${use['cost']:.4f}[/]", "")
        return table

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)

    def event(self, event: dict[str, Any]) -> None:
        super().event(event)
        self._refresh()

    def update(self, chunk: dict[str, Any]) -> None:
        super().update(chunk)
        self._refresh()

    def start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._live = Live(self.render(), console=Console(stderr=True), refresh_per_second=4,
                          transient=False, get_renderable=self.render)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def make_view(fmt: str, *, quiet: bool, stream: bool, tty: bool) -> View:
    tracker = Tracker()
    if fmt == "json":
        return JsonLinesView(tracker) if stream else View(tracker)
    if quiet:
        return View(tracker)
    return LiveView(tracker) if tty else LineView(tracker)

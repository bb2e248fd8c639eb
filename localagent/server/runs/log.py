"""One run's progress as the server keeps it: the events of its legs, in order, for any number
of followers (SSE, WebSocket) to replay and then wait on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from localagent.workflow.progress import Tracker, View

MAX_EVENTS = 20_000  # a run's log in memory; older events are dropped first


@dataclass
class RunLog:
    """Events of one thread's legs in this server process, numbered from 0."""

    thread_id: str
    request: str | None = None
    workspace: str | None = None
    status: str = "queued"  # queued | running | then the leg's outcome status
    events: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # events no longer kept (their numbers are below this)
    tracker: Tracker = field(default_factory=Tracker)
    task: asyncio.Task[Any] | None = None
    cancelled: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def append(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if len(self.events) > MAX_EVENTS:
            del self.events[0]
            self.dropped += 1
        self._wake.set()
        self._wake = asyncio.Event()

    def set_status(self, status: str, **details: Any) -> None:
        self.status = status
        self.append({"event": "run_status", "thread_id": self.thread_id, "status": status,
                     **{k: v for k, v in details.items() if v is not None}})

    def phase(self) -> str | None:
        """The phase running now, if any."""
        return next((name for name, info in self.tracker.phases.items()
                     if info["status"] == "running"), None)

    async def follow(self, after: int = -1) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """(number, event) of every event after ``after``, then the new ones as they come,
        until the current leg ends."""
        index = max(after + 1, self.dropped)
        while True:
            wake = self._wake
            while index < self.dropped + len(self.events):
                yield index, self.events[index - self.dropped]
                index += 1
                index = max(index, self.dropped)
            if not self.active:
                return
            await wake.wait()


class LogView(View):
    """The driver's view for a server run: every progress event into the run's log,
    warnings as ``warning`` events (as ``--stream`` prints them)."""

    def __init__(self, log: RunLog) -> None:
        super().__init__(log.tracker)
        self.log = log

    def event(self, event: dict[str, Any]) -> None:
        super().event(event)
        self.log.append(event)

    def warn(self, text: str) -> None:
        self.log.append({"event": "warning", "message": text})

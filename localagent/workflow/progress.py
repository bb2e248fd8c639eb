"""Progress of a workflow run, from its custom events and node updates: the ``Tracker``
every view reads, and the ``View`` the driver feeds (no output of its own)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graph.phases import phase_names


@dataclass
class Tracker:
    """Phase and branch status, tokens and cost, from custom events and node updates."""

    phases: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        p: {"status": "pending", "seconds": None} for p in phase_names()})
    branches: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: dict[str, float] = field(default_factory=lambda: {
        "model_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost": 0.0})
    warnings: list[str] = field(default_factory=list)
    _started: dict[str, float] = field(default_factory=dict)
    _tiny_model_said: bool = False

    def _start(self, name: str) -> None:
        for other, info in self.phases.items():  # phases without a finish event end here
            if info["status"] == "running" and other != name and other in self._started:
                self._finish(other, round(time.monotonic() - self._started[other], 3))
        if name in self.phases and self.phases[name]["status"] != "running":
            self.phases[name]["status"] = "running"
            self._started[name] = time.monotonic()

    def _finish(self, name: str, seconds: float | None, status: str = "done") -> None:
        if name in self.phases:
            self.phases[name] = {"status": status, "seconds": seconds}

    def on_event(self, event: dict[str, Any]) -> None:
        kind, name = event.get("event"), str(event.get("phase", ""))
        if kind == "phase_started":
            self._start(name)
        elif kind == "phase_finished":
            self._finish(name, event.get("seconds"))
        elif kind == "phase_failed":
            self._finish(name, None, "failed")
        elif kind == "phase_skipped":
            self._finish(name, None, "skipped")
        elif kind == "execute_progress":
            self._start("execute")
        elif kind == "branch_started":
            self._start(name)
            self.branches[f"{name}/{event.get('stream')}"] = {
                "role": event.get("role", ""), "status": "running", "since": time.monotonic()}
        elif kind == "branch_finished":
            branch = self.branches.setdefault(f"{name}/{event.get('stream')}", {})
            branch["status"] = event.get("status", "ok")
        elif kind == "run_finished":
            self._start("")  # closes whatever is still running

    def on_update(self, chunk: dict[str, Any]) -> list[str]:
        """Count the model calls in a node's update; returns the warnings it brings: an
        answer that looks degenerate, and (once) that a tiny model is answering."""
        from nodes.answers import tiny_model_notice

        new: list[str] = []
        for update in chunk.values():
            values = update if isinstance(update, dict) else {}
            for item in values.get("activity") or []:
                if isinstance(item, dict) and item.get("kind") == "model_call":
                    self.usage["model_calls"] += 1
                    self.usage["input_tokens"] += item.get("input_tokens") or 0
                    self.usage["output_tokens"] += item.get("output_tokens") or 0
                    self.usage["cost"] += float(item.get("cost") or 0)
                    notice = None if self._tiny_model_said else tiny_model_notice([item])
                    if notice:
                        self._tiny_model_said = True
                        new.append(notice)
                    if item.get("degenerate"):
                        where = "/".join(p for p in (item.get("phase"), item.get("stream"))
                                         if p)
                        new.append(f"{where}: the answer looks degenerate "
                                   f"({item['degenerate']}); it is kept but it is not work")
        self.warnings += new
        return new

    def running_branches(self) -> list[tuple[str, dict[str, Any]]]:
        return [(k, b) for k, b in self.branches.items() if b.get("status") == "running"]


class View:
    """No output (``--quiet``, or one JSON document at the end)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def event(self, event: dict[str, Any]) -> None:
        self.tracker.on_event(event)

    def update(self, chunk: dict[str, Any]) -> None:
        for warning in self.tracker.on_update(chunk):
            self.warn(warning)

    def warn(self, text: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

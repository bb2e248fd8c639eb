"""Driving a workflow thread: stream it to the view until it ends or waits for a human,
and sum up the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localagent.workflow.progress import View

EXIT = {"done": 0, "rejected": 0, "cancelled": 0, "failed": 1, "checks_failed": 1,
        "waiting": 3, "providers_failed": 4, "stopped": 130}
RESUMABLE = ("waiting", "stopped", "failed", "providers_failed")


@dataclass
class Outcome:
    thread_id: str
    status: str
    values: dict[str, Any] = field(default_factory=dict)
    interrupt: dict[str, Any] | None = None
    error: str | None = None
    resume: str = ""  # the command that continues this thread

    @property
    def checks_failed(self) -> bool:
        validation = self.values.get("validation") or {}
        return bool(validation) and not validation.get("skipped") and not validation.get(
            "passed", True)

    @property
    def exit_code(self) -> int:
        if self.status == "done" and self.checks_failed:
            return EXIT["checks_failed"]
        return EXIT.get(self.status, 1)

    def summary(self, tracker_phases: dict[str, Any]) -> dict[str, Any]:
        """The one JSON document ``--format json`` prints."""
        from graph.usage import usage
        from nodes.answers import tiny_model_notice

        activity = self.values.get("activity") or []
        use = usage(activity)
        notice = tiny_model_notice(activity)
        branches = [*(self.values.get("research") or []),
                    *(self.values.get("execute_results") or [])]
        failed = [f"{r.get('phase')}/{r.get('stream')}" for r in branches
                  if r.get("status") == "failed"]
        doc: dict[str, Any] = {
            "status": self.status, "exit_code": self.exit_code, "thread_id": self.thread_id,
            "request": self.values.get("request"), "workspace": self.values.get("workspace"),
            "phases": {name: {**info, "seconds": use["phase_seconds"].get(name,
                                                                          info["seconds"])}
                       for name, info in tracker_phases.items()},
            "activity": {"model_calls": use["model_calls"], "tool_calls": use["tool_calls"],
                         "commands": len(use["commands"]), "failed_branches": failed},
            "usage": {"input_tokens": use["input_tokens"],
                      "output_tokens": use["output_tokens"], "cost": use["cost"],
                      "by_provider": use["by_provider"]},
            "applied": (self.values.get("applied") or {}).get("paths", []),
            "change_sets": (self.values.get("applied") or {}).get("sets", []),
            "notices": [notice] if notice else [],
            "degenerate": [{k: e.get(k) for k in ("phase", "stream", "degenerate")}
                           for e in activity if e.get("degenerate")],
            "checks_passed": None if (self.values.get("validation") or {"skipped": True}).get(
                "skipped") else not self.checks_failed,
            "report": self.values.get("report_path") or None,
        }
        if self.interrupt is not None:
            doc["interrupt"] = self.interrupt
        if self.status in RESUMABLE:
            doc["resume_command"] = self.resume or resume_command(self.thread_id)
        if self.error:
            doc["error"] = self.error
        return doc


def resume_command(thread_id: str, options: str = "") -> str:
    """``options``: global options the thread needs to be found (``--config``, ``-C``)."""
    return f"localagent {options + ' ' if options else ''}workflow resume {thread_id}"


CANCELLED = ("CancelledError", "NodeCancelledError", "KeyboardInterrupt")


def stopped_not_failed(error: Any) -> bool:
    """A task error left by Ctrl-C or a cancelled run (an exception, or its stored repr)."""
    if isinstance(error, BaseException):
        return type(error).__name__ in CANCELLED
    return str(error).split("(", 1)[0] in CANCELLED


def thread_status(snapshot: Any) -> str:
    """done / failed / waiting / stopped (resumable) / rejected / cancelled / unknown."""
    if snapshot is None or not snapshot.config:
        return "unknown"
    if snapshot.interrupts:
        return "waiting"
    errors = [t.error for t in snapshot.tasks if getattr(t, "error", None)]
    if any(not stopped_not_failed(error) for error in errors):
        return "failed"
    if errors:
        return "stopped"
    if snapshot.next:
        return "stopped"
    return str((snapshot.values or {}).get("status") or "unknown")


async def drive(graph: Any, payload: Any, config: dict[str, Any], context: Any,
                view: View) -> Outcome:
    """Run until the thread ends or waits for a human (status ``waiting``: the caller asks,
    outside the event loop, so that Ctrl-C at the question stops at once)."""
    from providers.errors import AllProvidersFailed  # DeadlineExceeded is one too

    thread = str(config["configurable"]["thread_id"])
    view.start()
    try:
        # subgraphs: the agent branches' progress events come from inside them
        async for namespace, mode, chunk in graph.astream(
                payload, config, context=context, stream_mode=["custom", "updates"],
                durability="sync", subgraphs=True):
            if mode == "custom" and isinstance(chunk, dict):
                view.event(chunk)
            elif mode == "updates" and not namespace and isinstance(chunk, dict):
                view.update(chunk)
    except Exception as exc:
        from localagent.redact import scrub

        snapshot = await graph.aget_state(config)
        status = "providers_failed" if isinstance(exc, AllProvidersFailed) else "failed"
        return Outcome(thread, status, dict(snapshot.values or {}),
                       error=scrub(f"{type(exc).__name__}: {exc}"))
    finally:
        view.stop()
    snapshot = await graph.aget_state(config)
    values = dict(snapshot.values or {})
    if snapshot.interrupts:
        return Outcome(thread, "waiting", values, interrupt=dict(snapshot.interrupts[0].value))
    return Outcome(thread, thread_status(snapshot), values)

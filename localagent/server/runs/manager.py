"""Workflow runs in the server process: started and resumed as legs on the event loop, at
most ``max_concurrent_runs`` at a time (the rest queued), on the CLI's checkpoint database,
stopped at their last checkpoint on shutdown and resumed on the next start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localagent.server.runs.errors import (
    BadRequest,
    NoSuchRun,
    NotNow,
    OutsideRoots,
    RunsOff,
    ShuttingDown,
)
from localagent.server.runs.ledger import Ledger
from localagent.server.runs.log import LogView, RunLog

if TYPE_CHECKING:
    from graph.context import WorkflowContext
    from localagent.config.schema import Settings

log = logging.getLogger(__name__)

KEPT_LOGS = 500  # runs whose events this process keeps for late followers

NODE_PHASE = {"draft_scope": "scope", "confirm_scope": "scope", "research_agent": "research",
              "execute_agent": "execute", "merge": "integrate", "approve_changes": "integrate",
              "finish": "report"}


class RunManager:
    """Starts, resumes, follows and stops workflow runs; owns nothing but its logs."""

    def __init__(self, settings: Settings, *, workspace_roots: list[Path],
                 max_concurrent_runs: int) -> None:
        from localagent.checkpoints import checkpoint_url, is_postgres
        from localagent.paths import data_dir

        self.settings = settings
        self.roots = [Path(r).expanduser().resolve() for r in workspace_roots]
        self.max_concurrent_runs = max(1, max_concurrent_runs)
        self._slots: asyncio.Semaphore | None = None
        self._logs: dict[str, RunLog] = {}
        self._closing = False
        url = checkpoint_url(settings)  # the ledger goes with the database it speaks of
        self.ledger = Ledger(data_dir() / "server-runs.json" if is_postgres(url)
                             else Path(url).with_name(Path(url).name + ".server-runs.json"))

    @property
    def enabled(self) -> bool:
        return bool(self.roots)

    # -- guards ----------------------------------------------------------------------------
    def check_on(self) -> None:
        if not self.roots:
            raise RunsOff("the runs API is off: list the directories runs may work in under "
                          "server.workspace_roots")

    def workspace(self, text: str) -> Path:
        """``text`` resolved (symlinks followed); 403 unless it lies under a root."""
        self.check_on()
        path = Path(text).expanduser()
        if not path.is_absolute():
            raise BadRequest(f"workspace: {text!r} is not an absolute path")
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in self.roots):
            raise OutsideRoots(f"workspace: {text} is outside server.workspace_roots")
        if not real.is_dir():
            raise BadRequest(f"workspace: {text} is not a directory")
        return real

    def allowed(self, values: dict[str, Any]) -> bool:
        workspace = values.get("workspace")
        if not workspace:
            return False
        real = Path(str(workspace)).resolve()
        return any(real.is_relative_to(root) for root in self.roots)

    # -- reading threads -------------------------------------------------------------------
    async def describe(self, thread: str) -> dict[str, Any]:
        """The thread's brief, with the live status and phase of a run under way here."""
        from localagent.checkpoints import open_saver
        from localagent.workflow.threads import ThreadNotFound, brief, load

        self.check_on()
        run = self._logs.get(thread)
        async with open_saver(self.settings) as saver:
            try:
                snapshot, metadata = await load(saver, thread)
            except ThreadNotFound:
                if run is not None:  # queued (or cancelled in the queue): no checkpoint
                    return {"thread_id": thread, "status": run.status, "phase": None,
                            "request": run.request, "workspace": run.workspace,
                            "question": None}
                raise NoSuchRun(f"no run {thread!r}") from None
        if not self.allowed(dict(snapshot.values or {})):
            raise OutsideRoots(f"run {thread} works outside server.workspace_roots")
        doc = brief(thread, snapshot, metadata)
        doc["phase"] = NODE_PHASE.get(snapshot.next[0], snapshot.next[0]) if snapshot.next \
            else None
        doc["question"] = snapshot.interrupts[0].value if snapshot.interrupts else None
        if run is not None and run.active:
            doc["status"], doc["phase"] = run.status, run.phase() or doc["phase"]
        return doc

    async def listing(self, limit: int) -> list[dict[str, Any]]:
        """Workflow threads under the roots, newest first (the CLI's too)."""
        from localagent.checkpoints import open_saver
        from localagent.workflow.driver import thread_status
        from localagent.workflow.threads import latest

        self.check_on()
        async with open_saver(self.settings) as saver:
            found = await latest(saver, limit)
        rows = []
        for item, snapshot in found:
            values = dict(snapshot.values or {})
            if not self.allowed(values):
                continue
            run = self._logs.get(item["thread_id"])
            rows.append({"thread_id": item["thread_id"],
                         "status": run.status if run is not None and run.active
                         else thread_status(snapshot),
                         "request": item["metadata"].get("request"),
                         "workspace": values.get("workspace"), "updated": item["ts"]})
        listed = {row["thread_id"] for row in rows}
        queued = [{"thread_id": run.thread_id, "status": run.status, "request": run.request,
                   "workspace": run.workspace, "updated": None}
                  for run in self._logs.values() if run.active and run.thread_id not in listed]
        return queued + rows

    async def report(self, thread: str, fmt: str) -> str:
        from localagent.workflow.threads import report_file

        doc = await self.describe(thread)
        try:
            path = report_file(thread, {"workspace": doc.get("workspace")}, fmt)
        except LookupError as exc:
            raise NoSuchRun(str(exc)) from None
        return await asyncio.to_thread(path.read_text, encoding="utf-8")

    # -- running ---------------------------------------------------------------------------
    async def start(self, thread: str, request: str, workspace: Path,
                    context: WorkflowContext) -> None:
        from localagent.checkpoints import open_saver

        self._admit()
        async with open_saver(self.settings) as saver:
            if thread in self._logs or await saver.aget_tuple(
                    {"configurable": {"thread_id": thread}}) is not None:
                raise NotNow(f"run {thread} already exists")
        if thread in self._logs:  # started by a request that came in meanwhile
            raise NotNow(f"run {thread} already exists")
        payload = {"request": request, "workspace": str(workspace)}
        self._logs[thread] = RunLog(thread, request=request[:200], workspace=str(workspace))
        self._launch(thread, payload, context, {"start": payload})

    async def resume(self, thread: str, answer: Any, context: dict[str, Any]) -> None:
        """Continue a waiting or stopped thread with the settings it ran with (``context``
        replaces some); a waiting thread needs an answer."""
        from langgraph.types import Command

        from localagent.checkpoints import open_saver
        from localagent.workflow.driver import thread_status
        from localagent.workflow.threads import FINISHED, load, saved_context

        self._admit()
        await self.describe(thread)  # exists, and under the roots
        if (run := self._logs.get(thread)) is not None and run.active:
            raise NotNow(f"run {thread} is {run.status}; resume it when it stops or waits")
        async with open_saver(self.settings) as saver:
            snapshot, metadata = await load(saver, thread)
        status = thread_status(snapshot)
        if status in FINISHED:
            raise NotNow(f"run {thread} has finished ({status}); see its report")
        entry: dict[str, Any] = {}
        payload: Any = None
        if snapshot.interrupts:
            if answer is None:
                raise NotNow(f"run {thread} is waiting for an answer: send {{\"answer\": "
                             "true | false | \"feedback\" | {...}}")
            payload = Command(resume=answer)
            entry = {"answer": answer, "interrupt_id": snapshot.interrupts[0].id}
        if (run := self._logs.get(thread)) is not None and run.active:  # resumed meanwhile
            raise NotNow(f"run {thread} is {run.status}; resume it when it stops or waits")
        self._launch(thread, payload, self.context({**saved_context(metadata), **context}),
                     entry or None)

    def context(self, values: dict[str, Any]) -> WorkflowContext:
        """The run settings: configured values, then ``values`` (the CLI's defaults too)."""
        from graph.context import WorkflowContext

        values = {k: v for k, v in values.items() if v is not None}
        values.setdefault("provider", self.settings.system.default_provider)
        known = WorkflowContext.__dataclass_fields__
        return WorkflowContext.from_settings(self.settings.workflow,
                                             **{k: v for k, v in values.items() if k in known})

    def _admit(self) -> None:
        self.check_on()
        if self._closing:
            raise ShuttingDown("the server is shutting down; try again when it is back")

    def _launch(self, thread: str, payload: Any, context: WorkflowContext,
                leg_input: dict[str, Any] | None) -> None:
        run = self._logs.pop(thread, None) or RunLog(thread)
        self._logs[thread] = run  # the newest last
        ended = [t for t, r in self._logs.items() if not r.active]
        for old in ended[:max(0, len(self._logs) - KEPT_LOGS)]:
            del self._logs[old]  # its thread stays in the database
        run.cancelled = False
        run.set_status("queued")
        self.ledger.put(thread, {"context": asdict(context), "input": leg_input})
        run.task = asyncio.get_running_loop().create_task(self._leg(run, payload, context))

    async def _leg(self, run: RunLog, payload: Any, context: WorkflowContext) -> None:
        from localagent.workflow.driver import Outcome
        from localagent.workflow.threads import run_leg

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent_runs)
        outcome = Outcome(run.thread_id, "stopped")
        try:
            async with self._slots:
                run.set_status("running")
                view = _LedgerView(run, self.ledger)
                outcome = await run_leg(self.settings, run.thread_id, payload, context, view)
        except asyncio.CancelledError:  # cancelled while queued
            pass
        except Exception as exc:  # never leave a run "running" behind
            log.exception("run %s failed", run.thread_id)
            from localagent.redact import scrub

            outcome = Outcome(run.thread_id, "failed",
                              error=scrub(f"{type(exc).__name__}: {exc}"))
        if not (self._closing and outcome.status == "stopped") or run.cancelled:
            self.ledger.drop(run.thread_id)  # ended, or stopped on purpose: nothing to resume
        run.set_status(outcome.status, interrupt=outcome.interrupt, error=outcome.error)

    async def cancel(self, thread: str) -> dict[str, Any]:
        """Stop the run (at its last checkpoint) and close it as ``cancelled``."""
        from localagent.server.runs.closing import close_cancelled

        self.check_on()
        doc = await self.describe(thread)
        if doc["status"] in ("done", "rejected", "cancelled"):
            raise NotNow(f"run {thread} has finished ({doc['status']})")
        run = self._logs.get(thread)
        if run is not None and run.task is not None and not run.task.done():
            run.cancelled = True
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        self.ledger.drop(thread)
        if doc["status"] != "queued":  # a queued run has no checkpoint to close
            await close_cancelled(self.settings, thread)
        if run is not None:
            run.set_status("cancelled")
        return await self.describe(thread)

    def log_of(self, thread: str) -> RunLog | None:
        return self._logs.get(thread)

    # -- lifecycle -------------------------------------------------------------------------
    async def resume_interrupted(self) -> list[str]:
        """Resume the runs a stop left under way (not the ones waiting for a human);
        returns their thread ids."""
        from langgraph.types import Command

        from localagent.checkpoints import open_saver
        from localagent.workflow.driver import thread_status
        from localagent.workflow.threads import ThreadNotFound, load

        if not self.roots:
            return []
        resumed = []
        async with open_saver(self.settings) as saver:
            for thread, entry in self.ledger.entries().items():
                leg_input = entry.get("input") or {}
                context = self.context(dict(entry.get("context") or {}))
                try:
                    snapshot, _ = await load(saver, thread)
                except ThreadNotFound:
                    snapshot = None
                payload: Any = None
                if snapshot is None:
                    payload = leg_input.get("start")  # stopped before its first checkpoint
                    if payload is None or not self.allowed(payload):
                        self.ledger.drop(thread)
                        continue
                elif not self.allowed(dict(snapshot.values or {})):
                    self.ledger.drop(thread)
                    continue
                elif snapshot.interrupts:
                    if leg_input.get("interrupt_id") != snapshot.interrupts[0].id:
                        self.ledger.drop(thread)  # a question nobody has answered yet
                        continue
                    payload = Command(resume=leg_input.get("answer"))
                elif thread_status(snapshot) not in ("stopped", "failed"):
                    self.ledger.drop(thread)
                    continue
                resumed.append((thread, payload, context))
        for thread, payload, context in resumed:
            log.info("resuming run %s, interrupted by the last stop", thread)
            self._launch(thread, payload, context, self.ledger.entries()[thread]["input"])
        return [thread for thread, _, _ in resumed]

    async def shutdown(self, grace: float = 10.0) -> None:
        """Refuse new runs; stop the ones under way at their last checkpoint (they stay in
        the ledger, to be resumed on the next start), waiting up to ``grace`` seconds."""
        self._closing = True
        tasks = [run.task for run in self._logs.values()
                 if run.task is not None and not run.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.1, grace))


class _LedgerView(LogView):
    """Marks the leg's input consumed at its first event: by then LangGraph has checkpointed
    the input (or the answer), so a restart continues instead of starting over."""

    def __init__(self, run: RunLog, ledger: Ledger) -> None:
        super().__init__(run)
        self.ledger = ledger
        self.seen = False

    def event(self, event: dict[str, Any]) -> None:
        if not self.seen:
            self.seen = True
            self.ledger.consumed(self.log.thread_id)
        super().event(event)

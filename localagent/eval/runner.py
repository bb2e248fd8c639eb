"""Running an eval: every (task, run, mode) in a fresh copy of the task's workspace, K at a
time; the hidden check scored after the attempt, outside the agent's reach; each result
saved as soon as it is known, so that ``resume`` runs only what has no result yet.

Layout beside the results file ``X.json``: ``X.work/checkpoints.sqlite`` (one thread per
attempt), ``X.work/pristine/<task>`` (the workspace as given), ``X.work/attempts/<id>/
workspace`` (what the agent works on) and ``.../scoring`` (where the check runs).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.configured import Configured
from localagent.eval import results
from localagent.eval.attempts import Attempt, direct_attempt, workflow_attempt
from localagent.eval.scoring import CheckResult, run_command, score
from localagent.eval.suite import Task, materialize

MODES = ("workflow", "direct")
Progress = Callable[[str, dict[str, Any]], None]
ModelFor = Callable[[Task, str], Any]  # (task, mode) -> chat model


class HarnessError(Exception):
    """The harness could not run or score an attempt (not the agent's failure)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass(frozen=True)
class Job:
    task: Task
    run: int
    mode: str

    @property
    def id(self) -> str:
        from localagent.paths import run_folder_name

        return run_folder_name(f"{self.mode}-{self.task.name}-r{self.run}")

    @property
    def key(self) -> str:
        return f"{self.mode}/{self.task.name}/{self.run}"


def work_dir(output: Path) -> Path:
    return output.with_name(output.stem + ".work")


def new_doc(suite: str, provider: str | None, *, runs: int, baseline: str | None,
            command: str, tasks: list[Task], workflow: bool = True) -> dict[str, Any]:
    """A fresh results document; ``workflow=False`` runs the baseline alone."""
    modes = [*(["workflow"] if workflow or not baseline else []), *([baseline] if baseline
                                                                    else [])]
    return {"version": results.VERSION, "suite": suite, "provider": provider, "runs": runs,
            "baseline": baseline, "modes": modes, "command": command,
            "tasks": [t.name for t in tasks],
            "started": datetime.now(UTC).isoformat(timespec="seconds"), "results": []}


class Runner:
    """``model``: a chat model (or a function of the task and mode giving one) used instead
    of the provider chain; ``context``: the workflow's run context (default: the
    configured one, auto-approved, on ``provider``)."""

    def __init__(self, doc: dict[str, Any], output: Path, tasks: list[Task], *,
                 settings: Any = None, provider: str | None = None, parallel: int = 1,
                 model: Any = None, context: Any = None,
                 progress: Progress | None = None) -> None:
        self.doc, self.output, self.tasks = doc, output, tasks
        self.work = work_dir(output)
        self.settings, self.provider, self.parallel = settings, provider, parallel
        self.model = model
        self.context = context
        self.configured = Configured(settings)  # None: the user's, read when first needed
        self.progress = progress or (lambda key, info: None)
        self._save_lock = asyncio.Lock()
        self._pristine_locks: dict[str, asyncio.Lock] = {}

    def jobs(self) -> list[Job]:
        """The attempts that have no result yet (all of them on a fresh eval)."""
        done = {results.key(r) for r in self.doc["results"]}
        modes = self.doc.get("modes") or ["workflow"]
        return [job for run in range(1, int(self.doc["runs"]) + 1) for task in self.tasks
                for mode in modes if (job := Job(task, run, mode)).key not in done]

    async def run(self) -> dict[str, Any]:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        from graph.context import WorkflowContext

        config = self.configured.config
        if self.context is None:
            self.context = WorkflowContext.from_settings(
                config.workflow, provider=self.provider, auto_approve=True)
        self.work.mkdir(parents=True, exist_ok=True)
        jobs = self.jobs()
        for job in jobs:
            self.progress(job.key, {"status": "queued"})
        gate = asyncio.Semaphore(self.parallel)
        async with AsyncSqliteSaver.from_conn_string(
                str(self.work / "checkpoints.sqlite")) as saver:
            await saver.setup()

            async def one(job: Job) -> None:
                async with gate:
                    record = await self._attempt(job, saver)
                async with self._save_lock:
                    self.doc["results"].append(record)
                    self.doc["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
                    await asyncio.to_thread(results.save, self.output, self.doc)
                self.progress(job.key, record)

            await asyncio.gather(*(one(job) for job in jobs))
        await asyncio.to_thread(results.save, self.output, self.doc)
        return self.doc

    def _model(self, job: Job) -> Any:
        if callable(self.model) and not hasattr(self.model, "invoke"):
            return self.model(job.task, job.mode)
        return self.model

    async def _attempt(self, job: Job, saver: Any) -> dict[str, Any]:
        start = time.monotonic()
        stage = "prepare"
        attempt: Attempt | None = None
        check: CheckResult | None = None
        try:
            self.progress(job.key, {"status": "preparing"})
            pristine = await self._pristine(job.task)
            workspace = await self._workspace(job, pristine)
            stage = job.mode
            self.progress(job.key, {"status": "running"})
            model = self._model(job)
            if job.mode == "workflow":
                attempt = await workflow_attempt(job.task, workspace, job.id, saver, model,
                                                 self.configured, self.context)
            else:
                if model is None:
                    from nodes.model_calls import ModelSource

                    model = await ModelSource(self.configured.model).aget(self.context)
                attempt = await direct_attempt(job.task, workspace, model)
            if attempt.status != "timeout":
                stage = "check"
                self.progress(job.key, {"status": "checking"})
                check = await asyncio.to_thread(score, job.task, pristine, workspace,
                                                self.work / "attempts" / job.id / "scoring")
        except Exception as exc:
            from localagent.redact import scrub

            where = exc.stage if isinstance(exc, HarnessError) else stage
            return self._record(job, start, attempt, None, error=(
                f"harness:{where}", scrub(f"{type(exc).__name__}: {exc}"
                                          if not isinstance(exc, HarnessError) else str(exc))))
        return self._record(job, start, attempt, check)

    def _record(self, job: Job, start: float, attempt: Attempt | None,
                check: CheckResult | None,
                error: tuple[str, str] | None = None) -> dict[str, Any]:
        use = attempt.usage if attempt else {}
        record: dict[str, Any] = {
            "task": job.task.name, "run": job.run, "mode": job.mode, "thread": job.id,
            "tags": job.task.tags, "status": attempt.status if attempt else None,
            "input_tokens": int(use.get("input_tokens", 0)),
            "output_tokens": int(use.get("output_tokens", 0)),
            "cost": float(use.get("cost", 0.0)), "model_calls": int(use.get("model_calls", 0)),
            "seconds": round(time.monotonic() - start, 3),
            "changed": attempt.changed if attempt else [],
            "edited_tests": check.edited_tests if check else [],
        }
        if error is not None:
            return {**record, "outcome": "error", "phase": error[0], "reason": error[1]}
        assert attempt is not None
        if check is None:  # timed out: not scored, a failure with its reason
            return {**record, "outcome": "failed", "phase": attempt.phase or job.mode,
                    "reason": attempt.error or "timed out"}
        record["check"] = {"exit_code": check.exit_code, "output": check.output,
                           "seconds": check.seconds}
        if check.passed:
            return {**record, "outcome": "passed", "phase": None,
                    "reason": attempt.error or ""}
        if attempt.error or attempt.status not in ("done", "rejected", "cancelled"):
            phase = attempt.phase or job.mode
            reason = f"{attempt.status}: {attempt.error or ''}".strip(": ")
        elif not attempt.changed:
            phase, reason = "no changes", check.reason
        else:
            phase, reason = "check", check.reason
        return {**record, "outcome": "failed", "phase": phase, "reason": reason}

    async def _pristine(self, task: Task) -> Path:
        """The task's workspace as given, made once per eval (renamed into place whole)."""
        from localagent.paths import run_folder_name

        lock = self._pristine_locks.setdefault(task.name, asyncio.Lock())
        async with lock:
            dest = self.work / "pristine" / run_folder_name(task.name)
            if not dest.is_dir():
                partial = dest.with_name(dest.name + ".partial")
                await asyncio.to_thread(shutil.rmtree, partial, True)
                partial.parent.mkdir(parents=True, exist_ok=True)
                try:
                    await asyncio.to_thread(materialize, task, partial)
                except Exception as exc:
                    raise HarnessError("prepare", f"workspace: {exc}") from exc
                partial.rename(dest)
            return dest

    async def _workspace(self, job: Job, pristine: Path) -> Path:
        """A fresh copy with the setup commands run, or, on resume, the copy the attempt's
        thread was working on."""
        base = self.work / "attempts" / job.id
        workspace, ready = base / "workspace", base / "setup-done"
        if job.mode == "workflow" and ready.exists() and workspace.is_dir():
            return workspace  # the thread continues on it
        await asyncio.to_thread(shutil.rmtree, base, True)
        base.mkdir(parents=True)
        await asyncio.to_thread(shutil.copytree, pristine, workspace, symlinks=True)
        for command in job.task.setup:
            code, output, _ = await asyncio.to_thread(run_command, command, workspace,
                                                      job.task.check.timeout)
            if code != 0:
                from localagent.redact import scrub

                raise HarnessError("setup", f"setup command {command!r} "
                                   f"{'timed out' if code is None else f'exited {code}'}: "
                                   f"{scrub(output.strip()[-500:])}")
        ready.touch()
        return workspace


def exit_code(doc: dict[str, Any]) -> int:
    """0 when every attempt was scored (whatever the score), 1 when the harness failed."""
    return 1 if any(r["outcome"] == "error" for r in doc["results"]) else 0

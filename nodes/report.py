"""The run report (``<workspace>/.localagent/runs/<thread_id>/report.md`` and ``.json``),
written at the end of a run and when a phase fails. Secrets are scrubbed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from graph.context import WorkflowContext
from graph.events import emit
from graph.state import WorkflowState
from graph.usage import usage
from localagent.atomic import atomic_write
from localagent.paths import run_folder_name
from localagent.redact import scrub_data
from nodes.answers import tiny_model_notice
from nodes.report_text import markdown

RUNS_DIR = ".localagent/runs"


def thread_id() -> str:
    try:
        from langgraph.config import get_config

        return str(get_config()["configurable"].get("thread_id") or "no-thread")
    except Exception:
        return "no-thread"


def checks_failing(state: WorkflowState) -> bool:
    validation = state.get("validation") or {}
    return bool(validation) and not validation.get("skipped") and not validation.get(
        "passed", True)


def _branches(state: WorkflowState, activity: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seconds = {(e["phase"], e["stream"]): e.get("seconds") for e in activity
               if e.get("kind") == "branch"}
    return [{**{k: r.get(k) for k in ("phase", "stream", "role", "status", "summary", "error",
                                       "degenerate")},
             "seconds": seconds.get((r.get("phase"), r.get("stream")))}
            for r in [*(state.get("research") or []), *(state.get("execute_results") or [])]]


def compose_report(state: WorkflowState, status: str, error: str | None,
                   thread: str | None = None) -> dict[str, Any]:
    activity = list(state.get("activity") or [])
    failing = status == "done" and checks_failing(state)
    notice = tiny_model_notice(activity)
    return scrub_data({
        "thread_id": thread or thread_id(), "status": status,
        "outcome": "done, checks failing" if failing else status,
        "checks_failing": failing, "error": error,
        "notices": [notice] if notice else [],
        "request": state.get("request"), "workspace": state.get("workspace"),
        "scope": state.get("scope"), "plan": state.get("plan"),
        "branches": _branches(state, activity),
        "changes": {"files": [f["path"] for f in (state.get("changes") or {}).get("files", [])],
                    "conflicts": (state.get("changes") or {}).get("conflicts", [])},
        "applied": state.get("applied"), "validation": state.get("validation"),
        "iterations": state.get("validation_loops", 0), "audit": state.get("audit"),
        "docs": state.get("docs"), "readiness": state.get("readiness"),
        "degenerate": [{k: e.get(k) for k in ("phase", "stream", "provider", "degenerate")}
                       for e in activity if e.get("degenerate")],
        "usage": usage(activity)})


def write_report(state: WorkflowState, *, status: str, error: str | None = None,
                 thread: str | None = None) -> str | None:
    """Write report.json and report.md; returns the markdown path (None if impossible).
    ``thread``: the thread id when not called from inside the run."""
    workspace = state.get("workspace")
    if not workspace or not Path(workspace).is_dir():
        return None
    report = compose_report(state, status, error, thread)
    root = Path(os.path.realpath(workspace))
    folder = root / RUNS_DIR / run_folder_name(report["thread_id"])
    # within the workspace: a .localagent symlinked elsewhere fails instead of writing there
    atomic_write(folder / "report.json", json.dumps(report, indent=1, default=str), within=root)
    atomic_write(folder / "report.md",
                 markdown(report, (state.get("changes") or {}).get("diff", "")), within=root)
    return str(folder / "report.md")


def finish(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
    status = state.get("status") or "done"
    if status == "running":
        status = "done"
    path = write_report(state, status=status)
    emit(runtime, "run_finished", status=status, report=path)
    return {"status": status, "report_path": path or ""}

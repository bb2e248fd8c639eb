"""The run report (``<workspace>/.localagent/runs/<thread_id>/report.md`` and ``.json``),
written at the end of a run and when a phase fails. Secrets are scrubbed."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from graph.context import WorkflowContext
from graph.phases import phase_names
from graph.state import WorkflowState
from localagent.atomic import atomic_write
from localagent.paths import run_folder_name
from localagent.redact import scrub_data
from nodes.answers import tiny_model_notice
from nodes.progress import emit
from nodes.report_text import markdown

RUNS_DIR = ".localagent/runs"
BRANCH_PHASES = ("research", "execute")
PHASE_ORDER = tuple(phase_names())


def thread_id() -> str:
    try:
        from langgraph.config import get_config

        return str(get_config()["configurable"].get("thread_id") or "no-thread")
    except Exception:
        return "no-thread"


def _wall_seconds(branches: list[dict[str, Any]]) -> float:
    """The time at least one of these branches was working (parallel ones overlap)."""
    spans = sorted((b["ended_at"] - b["seconds"], b["ended_at"]) for b in branches
                   if b.get("ended_at") is not None)
    total, reach = 0.0, float("-inf")
    for begin, end in spans:
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return round(total, 3)


def phase_seconds(evidence: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per phase, summed over the run's loops; the branch phases count the time
    their branches ran."""
    seconds: dict[str, float] = defaultdict(float)
    for item in evidence:
        if item.get("kind") == "timing":
            seconds[item["phase"]] += float(item.get("seconds") or 0)
    for name in BRANCH_PHASES:
        branches = [e for e in evidence if e.get("kind") == "branch" and e["phase"] == name]
        if branches:
            seconds[name] = _wall_seconds(branches)
    ordered = sorted(seconds, key=lambda n: PHASE_ORDER.index(n) if n in PHASE_ORDER else 99)
    return {name: round(seconds[name], 3) for name in ordered}


def usage(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    calls = [e for e in evidence if e.get("kind") == "model_call"]
    by_provider: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_phase: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for call in calls:
        totals = by_provider[str(call.get("provider"))]
        totals["calls"] += 1
        for key in ("input_tokens", "output_tokens", "cost"):
            totals[key] += float(call.get(key) or 0)
        by_phase[str(call.get("phase"))][str(call.get("provider"))] += 1
    return {"model_calls": len(calls),
            "input_tokens": int(sum(c.get("input_tokens") or 0 for c in calls)),
            "output_tokens": int(sum(c.get("output_tokens") or 0 for c in calls)),
            "cost": round(sum(float(c.get("cost") or 0) for c in calls), 6),
            "by_provider": {k: dict(v) for k, v in by_provider.items()},
            "models_by_phase": {k: dict(v) for k, v in by_phase.items()},
            "tool_calls": sum(1 for e in evidence if e.get("kind") == "tool_call"),
            "commands": [e for e in evidence if e.get("kind") == "command"],
            "phase_seconds": phase_seconds(evidence)}


def checks_failing(state: WorkflowState) -> bool:
    validation = state.get("validation") or {}
    return bool(validation) and not validation.get("skipped") and not validation.get(
        "passed", True)


def _branches(state: WorkflowState, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seconds = {(e["phase"], e["stream"]): e.get("seconds") for e in evidence
               if e.get("kind") == "branch"}
    return [{**{k: r.get(k) for k in ("phase", "stream", "role", "status", "summary", "error",
                                       "degenerate")},
             "seconds": seconds.get((r.get("phase"), r.get("stream")))}
            for r in [*(state.get("research") or []), *(state.get("execute_results") or [])]]


def compose_report(state: WorkflowState, status: str, error: str | None) -> dict[str, Any]:
    evidence = list(state.get("evidence") or [])
    failing = status == "done" and checks_failing(state)
    notice = tiny_model_notice(evidence)
    return scrub_data({
        "thread_id": thread_id(), "status": status,
        "outcome": "done, checks failing" if failing else status,
        "checks_failing": failing, "error": error,
        "notices": [notice] if notice else [],
        "request": state.get("request"), "workspace": state.get("workspace"),
        "scope": state.get("scope"), "plan": state.get("plan"),
        "branches": _branches(state, evidence),
        "changes": {"files": [f["path"] for f in (state.get("changes") or {}).get("files", [])],
                    "conflicts": (state.get("changes") or {}).get("conflicts", [])},
        "applied": state.get("applied"), "validation": state.get("validation"),
        "iterations": state.get("validation_loops", 0), "audit": state.get("audit"),
        "docs": state.get("docs"), "readiness": state.get("readiness"),
        "degenerate": [{k: e.get(k) for k in ("phase", "stream", "provider", "degenerate")}
                       for e in evidence if e.get("degenerate")],
        "usage": usage(evidence)})


def write_report(state: WorkflowState, *, status: str, error: str | None = None) -> str | None:
    """Write report.json and report.md; returns the markdown path (None if impossible)."""
    workspace = state.get("workspace")
    if not workspace or not Path(workspace).is_dir():
        return None
    report = compose_report(state, status, error)
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

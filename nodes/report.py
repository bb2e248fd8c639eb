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
from graph.state import WorkflowState
from localagent.atomic import atomic_write
from localagent.redact import scrub, scrub_data
from nodes.progress import emit

RUNS_DIR = ".localagent/runs"


def thread_id() -> str:
    try:
        from langgraph.config import get_config

        return str(get_config()["configurable"].get("thread_id") or "no-thread")
    except Exception:
        return "no-thread"


def usage(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    calls = [e for e in evidence if e.get("kind") == "model_call"]
    by_provider: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for call in calls:
        totals = by_provider[str(call.get("provider"))]
        totals["calls"] += 1
        for key in ("input_tokens", "output_tokens", "cost"):
            totals[key] += float(call.get(key) or 0)
    return {"model_calls": len(calls),
            "input_tokens": int(sum(c.get("input_tokens") or 0 for c in calls)),
            "output_tokens": int(sum(c.get("output_tokens") or 0 for c in calls)),
            "cost": round(sum(float(c.get("cost") or 0) for c in calls), 6),
            "by_provider": {k: dict(v) for k, v in by_provider.items()},
            "tool_calls": sum(1 for e in evidence if e.get("kind") == "tool_call"),
            "commands": [e for e in evidence if e.get("kind") == "command"],
            "phase_seconds": {e["phase"]: e["seconds"] for e in evidence
                              if e.get("kind") == "timing"}}


def build(state: WorkflowState, status: str, error: str | None) -> dict[str, Any]:
    branches = [{k: r.get(k) for k in ("phase", "stream", "role", "status", "summary", "error")}
                for r in [*(state.get("research") or []), *(state.get("proposals") or [])]]
    return scrub_data({
        "thread_id": thread_id(), "status": status, "error": error,
        "request": state.get("request"), "workspace": state.get("workspace"),
        "scope": state.get("scope"), "plan": state.get("plan"), "branches": branches,
        "changes": {"files": [f["path"] for f in (state.get("changes") or {}).get("files", [])],
                    "conflicts": (state.get("changes") or {}).get("conflicts", [])},
        "applied": state.get("applied"), "validation": state.get("validation"),
        "iterations": state.get("iteration", 0), "audit": state.get("audit"),
        "docs": state.get("docs"), "readiness": state.get("readiness"),
        "usage": usage(state.get("evidence") or [])})


def markdown(report: dict[str, Any], diff: str) -> str:
    lines = [f"# LocalAgent run {report['thread_id']}", "",
             f"- status: **{report['status']}**", f"- request: {report['request']}",
             f"- workspace: `{report['workspace']}`"]
    if report["error"]:
        lines.append(f"- error: {report['error']}")
    scope = report.get("scope") or {}
    lines += ["", "## Scope", "", scope.get("summary", "(none)"), ""]
    lines += [f"- goal: {g}" for g in scope.get("goals", [])]
    lines += [f"- check: {c}" for c in scope.get("acceptance_checks", [])]
    lines += ["", "## Streams and branches", ""]
    lines += [f"- [{b['phase']}] {b['stream']} ({b['role']}): {b['status']} - "
              f"{b['error'] or b['summary']}" for b in report["branches"]] or ["(none)"]
    applied = report.get("applied") or {}
    lines += ["", "## Changes", "", f"applied: {applied.get('status', 'none')}"]
    lines += [f"- `{p}`" for p in applied.get("paths", [])]
    lines += [f"- conflict: {c}" for c in report["changes"]["conflicts"]]
    if applied.get("backup"):
        lines.append(f"- backups: `{applied['backup']}`")
    if diff:
        lines += ["", "```diff", scrub(diff)[:20000], "```"]
    validation = report.get("validation") or {}
    lines += ["", "## Validation", "", f"passed: {validation.get('passed')}"]
    lines += [f"- `{c['command']}` exit {c['exit_code']}" for c in validation.get("checks", [])]
    audit = report.get("audit") or {}
    lines += ["", "## Audit", "", f"passed: {audit.get('passed')}"]
    lines += [f"- {f}" for f in audit.get("findings", [])]
    docs = report.get("docs") or {}
    if docs:
        lines += ["", "## Documentation", "", docs.get("changelog_entry", "")]
        lines += [f"- {n}" for n in docs.get("doc_notes", [])]
    ready = report.get("readiness") or {}
    if ready:
        lines += ["", "## Readiness", "", f"ready: {ready.get('ready')}",
                  ready.get("summary", "")]
        lines += [f"- risk: {r}" for r in ready.get("risks", [])]
    use = report["usage"]
    lines += ["", "## Usage", "", f"- model calls: {use['model_calls']}",
              f"- tokens: {use['input_tokens']} in, {use['output_tokens']} out",
              f"- cost: ${use['cost']}", f"- tool calls: {use['tool_calls']}"]
    lines += [f"- {phase}: {seconds}s" for phase, seconds in use["phase_seconds"].items()]
    return "\n".join(lines) + "\n"


def write_report(state: WorkflowState, *, status: str, error: str | None = None) -> str | None:
    """Write report.json and report.md; returns the markdown path (None if impossible)."""
    workspace = state.get("workspace")
    if not workspace or not Path(workspace).is_dir():
        return None
    report = build(state, status, error)
    root = Path(os.path.realpath(workspace))
    folder = root / RUNS_DIR / report["thread_id"]
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

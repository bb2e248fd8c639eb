"""report.md: the run report (``nodes.report.build``) for people."""

from __future__ import annotations

from typing import Any

from localagent.redact import scrub

FAILING_LINES = 40


def _overview(report: dict[str, Any]) -> list[str]:
    lines = [f"# LocalAgent run {report['thread_id']}", "",
             f"- status: **{report['outcome']}**", f"- request: {report['request']}",
             f"- workspace: `{report['workspace']}`"]
    if report["error"]:
        lines.append(f"- error: {report['error']}")
    lines += [f"- iterations: {report['iterations']} validate → research loop(s)"]
    for notice in report["notices"]:
        lines += ["", f"> **Note:** {notice}"]
    if report["degenerate"]:
        lines += ["", "> **Degenerate answers** (shown below, but they are not real work):"]
        lines += [f"> - {d['phase']}{'/' + d['stream'] if d.get('stream') else ''} "
                  f"({d['provider']}): {d['degenerate']}" for d in report["degenerate"]]
    return lines


def _flag(value: dict[str, Any] | None) -> str:
    reason = (value or {}).get("degenerate")
    return f" ⚠ degenerate answer: {reason}" if reason else ""


def _scope_and_branches(report: dict[str, Any]) -> list[str]:
    scope = report.get("scope") or {}
    lines = ["", "## Scope", "", (scope.get("summary") or "(none)") + _flag(scope), ""]
    lines += [f"- goal: {g}" for g in scope.get("goals", [])]
    lines += [f"- check: {c}" for c in scope.get("acceptance_checks", [])]
    lines += ["", "## Streams and branches", ""]
    for b in report["branches"]:
        took = f" in {b['seconds']}s" if b.get("seconds") is not None else ""
        lines.append(f"- [{b['phase']}] {b['stream']} ({b['role']}): {b['status']}{took} - "
                     f"{b['error'] or b['summary']}{_flag(b)}")
    if not report["branches"]:
        lines.append("(none)")
    return lines


def _changes(report: dict[str, Any], diff: str) -> list[str]:
    applied = report.get("applied") or {}
    sets = [s for s in applied.get("sets", []) if s.get("status") == "applied"]
    failed = [s for s in applied.get("sets", []) if s.get("status") == "failed"]
    lines = ["", "## Changes", ""]
    if sets:
        lines.append(f"{len(sets)} change set(s) applied, {len(applied['paths'])} file(s):")
        for change in sets:
            lines.append(f"- change set `{change['id']}`: "
                         + ", ".join(f"`{p}`" for p in change["paths"])
                         + f" (backups in `{change['backup']}`)")
    else:
        lines.append({"rejected": "Nothing applied: the changes were rejected.",
                      "failed": "Nothing applied: writing the changes failed."}.get(
                          applied.get("status", ""), "Nothing applied: no change was proposed."))
    lines += [f"- failed to apply: {s.get('error')}" for s in failed]
    lines += [f"- conflict: {c}" for c in report["changes"]["conflicts"]]
    if diff:
        lines += ["", "Last diff reviewed:", "", "```diff", scrub(diff)[:20000], "```"]
    return lines


def _validation(report: dict[str, Any]) -> list[str]:
    validation = report.get("validation") or {}
    if validation.get("skipped") or not validation:
        return ["", "## Validation", "", "not run"]
    verdict = "passed" if validation.get("passed") else "**failing**"
    lines = ["", "## Validation", "", f"checks {verdict}"]
    for check in validation.get("checks", []):
        lines.append(f"- `{check['command']}`: exit {check['exit_code']}"
                     + (" (timed out)" if check.get("timed_out") else ""))
        if check["exit_code"] != 0:
            tail = "\n".join(str(check.get("output_tail", "")).splitlines()[-FAILING_LINES:])
            lines += ["", "```text", tail, "```"]
    return lines


def _reviews(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    audit = report.get("audit") or {}
    if audit:
        verdict = "passed" if audit.get("passed") else "not passed"
        lines += ["", "## Audit", "", f"{verdict}{_flag(audit)}"]
        lines += [f"- finding: {f}" for f in audit.get("findings", [])]
        lines += [f"- lesson: {x}" for x in audit.get("lessons", [])]
    docs = report.get("docs") or {}
    if docs:
        lines += ["", "## Documentation", "", (docs.get("changelog_entry") or "(no entry)")
                  + _flag(docs)]
        lines += [f"- {n}" for n in docs.get("doc_notes", [])]
    ready = report.get("readiness") or {}
    if ready:
        lines += ["", "## Readiness", "", f"ready: {ready.get('ready')}{_flag(ready)}",
                  ready.get("summary", "")]
        lines += [f"- risk: {r}" for r in ready.get("risks", [])]
    return lines


def _usage(report: dict[str, Any]) -> list[str]:
    use = report["usage"]
    lines = ["", "## Models and usage", ""]
    for phase, providers in use["models_by_phase"].items():
        answered = ", ".join(f"{name} ({count} call{'s' * (count != 1)})"
                             for name, count in providers.items())
        lines.append(f"- {phase}: {answered}")
    lines += [f"- model calls: {use['model_calls']}",
              f"- tokens: {use['input_tokens']} in, {use['output_tokens']} out",
              f"- cost: ${use['cost']}", f"- tool calls: {use['tool_calls']}", "",
              "## Time per phase", ""]
    lines += [f"- {phase}: {seconds}s" for phase, seconds in use["phase_seconds"].items()]
    return lines


def markdown(report: dict[str, Any], diff: str) -> str:
    lines = [*_overview(report), *_scope_and_branches(report), *_changes(report, diff),
             *_validation(report), *_reviews(report), *_usage(report)]
    return "\n".join(lines) + "\n"

"""Phase 6: run the project's checks through the command policy (in the OS sandbox);
failures loop back to research (at most ``max_iterations`` times) with the failure as input.
Without a sandbox, the user approves each check that runs project code before any runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from graph.context import PolicyFactory, WorkflowContext
from graph.phases import VALIDATE
from graph.state import WorkflowState
from localagent.security import PolicyDenied, SecurityPolicy
from localagent.security.interpreter import python_name
from nodes.decisions import parse_decision
from nodes.progress import phase
from nodes.workspace import context_of

OUTPUT_TAIL = 2000


def detect_checks(root: Path, configured: Sequence[str] = ()) -> list[str]:
    """The configured checks, else the test command the project's files point to."""
    if configured:
        return list(configured)
    checks: list[str] = []
    if any((root / name).exists() for name in ("pyproject.toml", "setup.py", "setup.cfg",
                                                "pytest.ini", "tox.ini")) \
            or any(root.glob("test_*.py")) or any(root.glob("tests/test_*.py")):
        checks.append(f"{python_name(root)} -m pytest -q")
    package = root / "package.json"
    if package.is_file():
        try:
            if json.loads(package.read_text()).get("scripts", {}).get("test"):
                checks.append("npm test")
        except ValueError:
            pass
    if (root / "go.mod").is_file():
        checks.append("go test ./...")
    if (root / "Cargo.toml").is_file():
        checks.append("cargo test")
    return checks


def approvals(policy: SecurityPolicy, checks: list[str]) -> dict[str, bool]:
    """Ask, one interrupt per check, before any runs: without an OS sandbox a check that
    runs project code needs a yes each time (auto-approve does not cover it)."""
    answers: dict[str, bool] = {}
    for command in checks:
        try:
            reason = policy.needs_approval(command)
        except PolicyDenied:
            continue  # reported when it is run
        if reason is not None:
            answer = interrupt({"type": "approve_command",
                                "message": f"Run `{command}` without a sandbox? {reason}.",
                                "command": command, "reason": reason,
                                "sandbox": policy.sandbox_status()})
            answers[command] = parse_decision(answer).approved
    return answers


def _unvalidated(state: WorkflowState) -> Command[Literal["audit"]]:
    return Command(goto="audit", update={"validation": {"passed": True, "skipped": True,
                                                        "checks": []}})


@phase(VALIDATE, skipped=_unvalidated)
def run_checks(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
               policies: PolicyFactory) -> Command[Literal["audit", "research"]]:
    context = context_of(runtime)
    policy = policies(state["workspace"], context)
    checks = detect_checks(policy.workspace.root, context.checks)
    answers = approvals(policy, checks)
    results: list[dict[str, Any]] = []
    for command in checks:
        if answers.get(command) is False:
            results.append({"command": command, "exit_code": None, "declined": True,
                            "output_tail": "not run: the user declined to run it without a "
                                           "sandbox"})
            continue
        try:
            run = policy.run(command, approved=answers.get(command, False))
            results.append({"command": command, "exit_code": run.exit_code,
                            "timed_out": run.timed_out, "output_tail": run.output[-OUTPUT_TAIL:]})
        except PolicyDenied as denied:
            results.append({"command": command, "exit_code": None,
                            "output_tail": denied.tool_error()})
    passed = all(r["exit_code"] == 0 for r in results)
    validation = {"passed": passed, "checks": results,
                  "iteration": state.get("validation_loops", 0)}
    activity = [{"kind": "command", "phase": "validate", "command": r["command"],
                 "exit_code": r["exit_code"], "output_tail": r["output_tail"][-300:]}
                for r in results]
    update: dict[str, Any] = {"validation": validation, "activity": activity}
    iteration = state.get("validation_loops", 0)
    declined = any(r.get("declined") for r in results)  # another loop would ask again
    if passed or declined or iteration >= context.max_iterations:
        return Command(goto="audit", update=update)
    failure = "\n\n".join(f"$ {r['command']} (exit {r['exit_code']})\n{r['output_tail']}"
                          for r in results if r["exit_code"] != 0)
    return Command(goto="research", update={**update, "validation_loops": iteration + 1,
                                            "validation_failure": failure})

"""Phase 6: run the project's checks through the command policy; failures loop back to
research (at most ``max_iterations`` times) with the failure as input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.context import WorkflowContext, settings
from graph.state import WorkflowState
from localagent.security import PolicyDenied
from nodes.progress import phase
from nodes.workspace import context_of, policy_for

OUTPUT_TAIL = 2000


def detect_checks(root: Path) -> list[str]:
    """Configured checks, else the test command the project's files point to."""
    configured = settings().workflow.checks
    if configured:
        return list(configured)
    checks: list[str] = []
    if any((root / name).exists() for name in ("pyproject.toml", "setup.py", "setup.cfg",
                                                "pytest.ini", "tox.ini")) \
            or any(root.glob("test_*.py")) or any(root.glob("tests/test_*.py")):
        checks.append("python -m pytest -q")
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


@phase("validate", 6)
def run_checks(state: WorkflowState, runtime: Runtime[WorkflowContext]) -> Command[Any]:
    context = context_of(runtime)
    if not context.runs(6):
        return Command(goto="audit", update={"validation": {"passed": True, "skipped": True,
                                                            "checks": []}})
    policy = policy_for(state["workspace"], runtime)
    results: list[dict[str, Any]] = []
    for command in detect_checks(policy.workspace.root):
        try:
            run = policy.run(command)
            results.append({"command": command, "exit_code": run.exit_code,
                            "timed_out": run.timed_out, "output_tail": run.output[-OUTPUT_TAIL:]})
        except PolicyDenied as denied:
            results.append({"command": command, "exit_code": None,
                            "output_tail": denied.tool_error()})
    passed = all(r["exit_code"] == 0 for r in results)
    validation = {"passed": passed, "checks": results,
                  "iteration": state.get("iteration", 0)}
    evidence = [{"kind": "command", "phase": "validate", "command": r["command"],
                 "exit_code": r["exit_code"], "output_tail": r["output_tail"][-300:]}
                for r in results]
    update: dict[str, Any] = {"validation": validation, "evidence": evidence}
    iteration = state.get("iteration", 0)
    if passed or iteration >= context.max_iterations:
        return Command(goto="audit", update=update)
    failure = "\n\n".join(f"$ {r['command']} (exit {r['exit_code']})\n{r['output_tail']}"
                          for r in results if r["exit_code"] != 0)
    return Command(goto="research", update={**update, "iteration": iteration + 1,
                                            "research_input": failure})

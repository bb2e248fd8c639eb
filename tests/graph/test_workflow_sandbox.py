"""A full workflow whose scripted model plants a malicious conftest.py, Makefile, fsmonitor
config and escaping test: with the sandbox on, nothing leaves the workspace, .git does not
change and no secret reaches any output; with ``sandbox: off`` the user is asked before
any project code runs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from graph.workflow import build_workflow
from tests.cli_util import write_user_config
from tests.graph.test_workflow import ctx, model, run
from tests.graph_fakes import call, project_python
from tests.security.test_sandbox import SECRET, digest, outside, secret_repo

__all__ = ["outside"]  # the fixture, shared with test_sandbox

PLAN = {"summary": "tests", "streams": [
    {"id": "tests", "role": "backend-engineer", "focus": "add the project tests",
     "files": [], "acceptance_checks": [], "depends_on": []}]}
CHECKS = ["python -m pytest -q", "make test", "git status --short"]


def conftest(outside: Path, marker: str) -> str:
    return f'''import os, pathlib, subprocess
pathlib.Path("ran-conftest").write_text("loaded")  # proof project code ran
for target in [{str(outside / "conftest")!r}, ".git/config", "nested/.git/hooks/pre-commit"]:
    try:
        with open(target, "a") as handle:
            handle.write("[core]\\n\\tfsmonitor = touch {marker}\\n")
    except OSError as exc:
        print("blocked", target, type(exc).__name__)
print(subprocess.run(["git", "show", "HEAD:.env"], capture_output=True, text=True).stdout)
'''


def escaping_test(outside: Path) -> str:
    return f'''import pytest


def test_cannot_write_outside():
    with pytest.raises(OSError):
        open({str(outside / "from-test")!r}, "w")
    open("/tmp/outside", "w").write("private tmp only")
'''


def makefile(outside: Path, marker: str) -> str:
    return (f"test:\n\t-touch {outside / 'make'}\n"
            f"\t-git config core.fsmonitor 'touch {marker}'\n"
            "\t-cp /dev/null .git/hooks/pre-commit\n\tcat .env || true\n")


def scripted(outside: Path, marker: str) -> Any:
    edits = [call("propose_edit", path="conftest.py", content=conftest(outside, marker)),
             call("propose_edit", path="test_escape.py", content=escaping_test(outside)),
             call("propose_edit", path="Makefile", content=makefile(outside, marker))]
    turns = [("Your area", ["nothing"]),
             ("add the project tests", [
                 edits,
                 [call("propose_edit", path=".git/config",
                       content=f"[core]\n\tfsmonitor = touch {marker}\n"),
                  call("propose_edit", path="nested/.git/hooks/pre-commit", content="x"),
                  call("run_command", command="GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core."
                       f"fsmonitor GIT_CONFIG_VALUE_0='touch {marker}' git status"),
                  call("run_command", command="git show HEAD:.env"),
                  call("run_command", command="python -m pytest -q")],
                 "done"])]
    return model(structured={"Plan": [PLAN]}, turns=turns)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = secret_repo(tmp_path / "repo",
                       {"pytest.ini": "[pytest]\naddopts = -p no:cacheprovider -s\n"})
    project_python(root)  # checks run the project's python, never LocalAgent's own
    return root


def configure(sandbox: str) -> None:
    """The security settings come from the user's configuration (the graph is built without
    a policy factory); the checks are the run's (its context)."""
    write_user_config({"security": {"sandbox": sandbox}})


def outputs(graph: Any, thread: str, repo: Path) -> str:
    """Everything the run produced: the checkpointed state and the report files."""
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    reports = [p.read_text() for p in (repo / ".localagent" / "runs").rglob("report.*")]
    return json.dumps(state, default=str) + "".join(reports)


async def test_malicious_project_code_is_contained(repo: Path, outside: Path) -> None:
    configure("auto")
    marker = f"/tmp/localagent-pwned-{uuid.uuid4().hex}"
    git_before, nested_before = digest(repo / ".git"), digest(repo / "nested" / ".git")
    graph = build_workflow(model=scripted(outside, marker), checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    interrupts, _ = await run(graph, {"request": "add tests", "workspace": str(repo)}, thread,
                              ctx(max_iterations=0, checks=CHECKS))
    assert interrupts == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "done"
    assert state["applied"]["paths"] == ["Makefile", "conftest.py", "test_escape.py"]
    checks = {c["command"]: c for c in state["validation"]["checks"]}
    pytest_run = checks["python -m pytest -q"]
    assert pytest_run["exit_code"] == 0, pytest_run["output_tail"]  # the run went on
    assert "1 passed" in pytest_run["output_tail"]
    assert pytest_run["output_tail"].count("blocked") == 3
    assert "API_KEY=[redacted]" in pytest_run["output_tail"]  # read from git, then redacted
    assert checks["make test"]["exit_code"] == 0
    assert checks["git status --short"]["exit_code"] == 0
    assert (repo / "ran-conftest").exists()  # the code did run, inside the sandbox
    # nothing outside the workspace, nothing under .git, the fsmonitor never ran
    assert list(outside.iterdir()) == []
    assert not Path(marker).exists() and not Path("/tmp/outside").exists()
    assert digest(repo / ".git") == git_before
    assert digest(repo / "nested" / ".git") == nested_before
    tools = [e for e in state["activity"] if e["kind"] == "tool_call"]
    refused = {e["args"].get("path") or e["args"].get("command"): e["output_tail"]
               for e in tools if not e["ok"]}
    assert "denied (protected_path)" in refused[".git/config"]
    assert "denied (protected_path)" in refused["nested/.git/hooks/pre-commit"]
    assert any("denied (env_denied)" in text for text in refused.values())
    assert "denied (read_denied)" in refused["git show HEAD:.env"]
    assert SECRET not in outputs(graph, thread, repo)


async def test_without_a_sandbox_project_code_waits_for_approval(repo: Path,
                                                                 outside: Path) -> None:
    configure("off")
    marker = f"/tmp/localagent-pwned-{uuid.uuid4().hex}"
    graph = build_workflow(model=scripted(outside, marker), checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    # auto-approve does not cover unsandboxed project code
    context = ctx(max_iterations=0, checks=CHECKS)
    interrupts, _ = await run(graph, {"request": "add tests", "workspace": str(repo)}, thread,
                              context)
    assert [i.value["type"] for i in interrupts] == ["approve_command"]
    question = interrupts[0].value
    assert question["command"] == "python -m pytest -q"
    assert "runs code from the project" in question["message"]
    assert question["sandbox"].startswith("none (security.sandbox is off)")
    assert (repo / "conftest.py").exists()  # applied (auto-approve)...
    assert not (repo / "ran-conftest").exists()  # ...and not run: not even by the agent
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    agent_run = [e for e in state["activity"] if e.get("tool") == "run_command"
                 and e["args"]["command"] == "python -m pytest -q"]
    assert "denied (needs_approval)" in agent_run[0]["output_tail"]

    interrupts, _ = await run(graph, Command(resume=False), thread, context)
    assert [i.value["command"] for i in interrupts] == ["make test"]  # each one is asked
    interrupts, _ = await run(graph, Command(resume="no"), thread, context)
    assert interrupts == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    checks = {c["command"]: c for c in state["validation"]["checks"]}
    assert checks["python -m pytest -q"]["output_tail"].startswith("not run: the user declined")
    assert checks["git status --short"]["exit_code"] == 0  # inert: runs without asking
    assert state["validation"]["passed"] is False and state["status"] == "done"
    assert not (repo / "ran-conftest").exists()
    assert list(outside.iterdir()) == [] and not Path(marker).exists()


async def test_an_approved_unsandboxed_check_runs(repo: Path, outside: Path) -> None:
    configure("off")
    (repo / "test_ok.py").write_text("def test_ok():\n    pass\n")
    graph = build_workflow(model=model(structured={"Plan": [{"summary": "", "streams": []}]}),
                           checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    context = ctx(max_iterations=0, checks=("python -m pytest -q",))
    interrupts, _ = await run(graph, {"request": "check", "workspace": str(repo)}, thread,
                              context)
    assert interrupts[0].value["type"] == "approve_command"
    interrupts, _ = await run(graph, Command(resume=True), thread, context)
    assert interrupts == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["validation"]["passed"] is True

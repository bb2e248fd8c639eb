"""`localagent workflow ...` and the default command: output formats, exit codes, threads.

The model is the configured `openai-compatible` provider, served by a local fake of the
OpenAI wire protocol answering from the workflow's phase scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from localagent.cli.app import app
from tests.cli_util import use_openai_compatible
from tests.graph.test_workflow import BUGGY, FIXED, model, repo
from tests.graph_fakes import call, scripted_provider

runner = CliRunner()
__all__ = ["repo"]  # the fixture, shared with test_workflow


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def localagent(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real console script in a subprocess: no TTY, as in CI."""
    script = Path(sys.executable).parent / "localagent"
    return subprocess.run([str(script), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ})


def test_default_command_runs_the_workflow_and_prints_one_json_document(
        repo: Path, httpserver: HTTPServer) -> None:
    scripted_provider(httpserver, model())
    result = cli("--format", "json", "fix add", "--workspace", str(repo), "--yes")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "done" and doc["exit_code"] == 0
    assert doc["applied"] == ["calc.py"] and doc["checks_passed"] is True
    assert (repo / "calc.py").read_text() == FIXED
    assert Path(doc["report"]).is_file()
    assert doc["usage"]["input_tokens"] == 20 * len(httpserver.log)
    assert doc["activity"]["model_calls"] == len(httpserver.log)
    assert doc["phases"]["validate"]["status"] == "done"
    assert doc["phases"]["validate"]["seconds"] > 0


def test_stream_prints_progress_as_json_lines_then_the_summary(
        repo: Path, httpserver: HTTPServer) -> None:
    scripted_provider(httpserver, model())
    result = cli("--format", "json", "workflow", "run", "fix add", "-w", str(repo), "--yes",
                 "--stream", "--phases", "0,1,2,3,4,5")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    events = [line["event"] for line in lines[:-1]]
    assert events[0] == "phase_started" and "branch_started" in events
    # phases 6.. are off: they say so and do nothing
    assert {line["event"] for line in lines[:-1] if line.get("phase") == "validate"} == {
        "phase_skipped"}
    assert lines[-1]["status"] == "done" and lines[-1]["checks_passed"] is None
    assert lines[-1]["phases"]["audit"]["status"] == "skipped"
    assert lines[-1]["phases"]["apply"]["status"] == "done"


def test_headless_run_waits_with_exit_3_then_resume_finishes(
        repo: Path, httpserver: HTTPServer) -> None:
    scripted = model()
    scripted_provider(httpserver, scripted)
    first = localagent("--format", "json", "fix add", "-w", str(repo), "--thread", "t1")
    assert first.returncode == 3, first.stderr
    doc = json.loads(first.stdout)
    assert doc["status"] == "waiting" and doc["interrupt"]["type"] == "confirm_scope"
    assert doc["resume_command"] == "localagent workflow resume t1"

    status = json.loads(cli("--format", "json", "workflow", "status", "t1").stdout)
    assert status["status"] == "waiting" and status["waiting_for"]["type"] == "confirm_scope"
    # headless resume without an answer refuses to guess
    refused = localagent("workflow", "resume", "t1")
    assert refused.returncode == 3 and "--yes or --answer" in refused.stderr

    second = localagent("--format", "json", "workflow", "resume", "--answer", "yes")
    assert second.returncode == 3, second.stderr  # the latest thread; now the diff waits
    assert json.loads(second.stdout)["interrupt"]["type"] == "approve_changes"
    assert (repo / "calc.py").read_text() == BUGGY

    third = localagent("--format", "json", "workflow", "resume", "t1", "--yes")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["status"] == "done"
    assert (repo / "calc.py").read_text() == FIXED
    assert scripted.log.count("Scope") == 1 and scripted.log.count("Plan") == 1

    listing = json.loads(cli("--format", "json", "workflow", "list").stdout)
    assert [(r["thread"], r["status"]) for r in listing] == [("t1", "done")]
    shown = yaml.safe_load(cli("--format", "yaml", "workflow", "show", "t1").stdout)
    assert shown["state"]["applied"]["paths"] == ["calc.py"]
    assert shown["pending"] == [] and len(shown["history"]) > 5
    report = cli("workflow", "report", "t1")
    assert report.exit_code == 0 and "```diff" in report.stdout
    assert json.loads(cli("--format", "json", "workflow", "report", "t1").stdout)[
        "status"] == "done"
    again = cli("workflow", "resume", "t1")
    assert again.exit_code == 1 and "has finished (done)" in again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["fix", "--workspace", "/no/such/dir"], "--workspace: /no/such/dir is not a directory"),
    (["fix", "--phases", "0,x"], "--phases: '0,x' is not a comma-separated list"),
    (["fix", "--phases", "0,12"], "must list phases between 0 (scope) and 9"),
    (["  "], "the request is empty"),
    (["workflow", "status", "nope"], "no thread 'nope'"),
    (["workflow", "resume"], "no workflow threads yet"),
])
def test_bad_input_exits_2_naming_what_was_wrong(repo: Path, args: list[str],
                                                 message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_existing_thread_id_is_refused(repo: Path, httpserver: HTTPServer) -> None:
    scripted_provider(httpserver, model())
    assert cli("fix add", "-w", str(repo), "--thread", "t2", "--yes").exit_code == 0
    result = cli("fix add", "-w", str(repo), "--thread", "t2", "--yes")
    assert result.exit_code == 2 and "t2 already exists" in result.stderr


def test_all_providers_failing_exits_4_and_leaves_a_failed_report(
        repo: Path, refused_url: str) -> None:
    use_openai_compatible(f"{refused_url}/v1", "scripted", timeout=2)
    result = cli("--format", "json", "fix add", "-w", str(repo), "--yes", "--thread", "t4")
    assert result.exit_code == 4, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "providers_failed" and "AllProvidersFailed" in doc["error"]
    report = json.loads((repo / ".localagent/runs/t4/report.json").read_text())
    assert report["status"] == "failed"


def test_checks_still_failing_at_the_end_exit_1(repo: Path, httpserver: HTTPServer) -> None:
    wrong = "def add(a, b):\n    return a * b\n"
    turns = [("Your area", ["ok"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=wrong)],
                                      "done"])]
    scripted_provider(httpserver, model(turns=turns))
    result = cli("--format", "json", "fix add", "-w", str(repo), "--yes",
                 "--max-iterations", "0")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["status"] == "done" and doc["checks_passed"] is False


@pytest.mark.parametrize(("errors", "expected"), [
    ([], "done"),
    (["CancelledError()"], "stopped"),            # Ctrl-C: the error write LangGraph stores
    ([__import__("asyncio").CancelledError()], "stopped"),
    (["NodeCancelledError('execute_agent')"], "stopped"),
    (["ValueError('boom')"], "failed"),
    (["CancelledError()", "ValueError('boom')"], "failed"),
])
def test_a_cancelled_task_reads_stopped_not_failed(errors: list[object], expected: str) -> None:
    from types import SimpleNamespace

    from localagent.workflow.driver import thread_status

    tasks = [SimpleNamespace(name="execute_agent", error=e) for e in errors] or [
        SimpleNamespace(name="finish", error=None)]
    snapshot = SimpleNamespace(config={"configurable": {}}, interrupts=(), tasks=tasks,
                               next=("execute_agent",) if errors else (),
                               values={"status": "done"})
    assert thread_status(snapshot) == expected

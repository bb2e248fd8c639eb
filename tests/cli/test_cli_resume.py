"""`workflow resume` continues the run that was started (provider, limits, phases, --yes),
long requests from a file or stdin, thread ids, the deadline's exit code, `workflow show`.

The model is an `openai-compatible` provider served by a local fake of the OpenAI wire
protocol answering from the workflow's phase scripts; the configured default chain is an
Ollama where nothing listens, so only a run that keeps its provider reaches the fake.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.cli.test_cli_workflow import localagent, repo
from tests.cli_util import runner, write_user_config
from tests.graph.test_workflow import FIXED, model
from tests.graph_fakes import openai_handler

__all__ = ["repo"]
SPEC = "openai-compatible:scripted"


def cli(*args: str, input: str | None = None) -> Any:
    from localagent.cli.app import app

    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def serve(httpserver: HTTPServer, refused_url: str, **settings: object) -> None:
    """The scripted model at the fake; the default chain elsewhere (a dead Ollama)."""
    httpserver.expect_request("/v1/chat/completions").respond_with_handler(
        openai_handler(model()))
    write_user_config({
        "system": {"default_provider": "ollama"},
        "providers": {"ollama": {"base_url": refused_url},
                      "openai-compatible": {"base_url": httpserver.url_for("/v1"),
                                            "timeout": 30}}, **settings})


def test_resume_keeps_the_runs_provider_limits_and_phases(
        repo: Path, httpserver: HTTPServer, refused_url: str) -> None:
    serve(httpserver, refused_url)
    first = localagent("fix add", "-w", str(repo), "--thread", "r1", "--provider", SPEC,
                       "--phases", "0,1,2,3,4,5", "--max-steps", "7", "--max-parallel", "3",
                       "--format", "json")
    assert first.returncode == 3, first.stderr
    assert json.loads(first.stdout)["interrupt"]["type"] == "confirm_scope"
    served = len(httpserver.log)

    second = localagent("--format", "json", "workflow", "resume", "r1", "--answer", "yes")
    assert second.returncode == 3, second.stderr  # on the fake, not the dead default chain
    assert json.loads(second.stdout)["interrupt"]["type"] == "approve_changes"
    assert len(httpserver.log) > served
    assert "note:" not in second.stderr

    settings = json.loads(cli("--format", "json", "workflow", "show", "r1").stdout)["settings"]
    assert settings["provider"] == SPEC and settings["agent_step_limit"] == 7
    assert settings["max_parallel_agents"] == 3 and settings["phases"] == [0, 1, 2, 3, 4, 5]

    third = localagent("--format", "json", "workflow", "resume", "r1", "--yes")
    assert third.returncode == 0, third.stderr
    doc = json.loads(third.stdout)
    assert doc["status"] == "done" and (repo / "calc.py").read_text() == FIXED
    assert doc["phases"]["validate"]["status"] == "skipped"  # --phases 0..5 still holds


def test_an_override_on_resume_is_used_and_said(
        repo: Path, httpserver: HTTPServer, refused_url: str) -> None:
    serve(httpserver, refused_url)
    first = localagent("--format", "json", "fix add", "-w", str(repo), "--thread", "r2",
                       "--provider", SPEC)
    assert first.returncode == 3, first.stderr
    served = len(httpserver.log)
    moved = localagent("--format", "json", "workflow", "resume", "r2", "--yes",
                       "--provider", "ollama")
    assert moved.returncode == 4, moved.stderr  # the dead Ollama, as asked
    assert f"thread r2 ran on {SPEC}; resuming on ollama" in moved.stderr
    assert len(httpserver.log) == served


def test_bad_overrides_on_resume_exit_2(repo: Path, httpserver: HTTPServer,
                                        refused_url: str) -> None:
    serve(httpserver, refused_url, chains={"both": [SPEC, "ollama"]})
    assert localagent("fix add", "-w", str(repo), "--thread", "r3", "--provider",
                      "both").returncode == 3
    for args, message in [(["--model", "x"], "--model needs a single provider"),
                          (["--phases", "0,12"], "must list phases between 0"),
                          (["--provider", "bogus:x"], "unknown provider 'bogus'")]:
        result = cli("workflow", "resume", "r3", "--yes", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)


def test_the_request_from_a_file_or_stdin(repo: Path, httpserver: HTTPServer,
                                          refused_url: str, tmp_path: Path) -> None:
    serve(httpserver, refused_url)
    long_request = "fix add\n" + "context line\n" * 11_000  # over one argument's 128 KiB
    task = tmp_path / "task.md"
    task.write_text(long_request)
    run = cli("--format", "json", "workflow", "run", "-f", str(task), "-w", str(repo),
              "--provider", SPEC, "--phases", "0", "--thread", "f1")
    assert run.exit_code == 3, run.output
    state = json.loads(cli("--format", "json", "workflow", "show", "f1").stdout)
    assert state["request"] == long_request
    assert "context line" in httpserver.log[0][0].get_data(as_text=True)

    piped = cli("-", "-w", str(repo), "--provider", SPEC, "--phases", "0", "--thread", "f2",
                "--format", "json", input="fix add, from stdin\n")
    assert piped.exit_code == 3, piped.output
    shown = json.loads(cli("--format", "json", "workflow", "status", "f2").stdout)
    assert shown["request"] == "fix add, from stdin\n"


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["workflow", "run", "-f", "nope.md"], None, "--file: nope.md: no such file"),
    (["workflow", "run", "fix", "-f", "task.md"], None, "not both"),
    (["workflow", "run", "-f", "empty.md"], None, "the request is empty"),
    (["-"], "  \n", "the request is empty"),
    (["workflow", "run"], None, "say what to do"),
    (["workflow", "run", "-f", "huge.md"], None, "security.max_message_chars is 200000"),
])
def test_request_input_errors_exit_2(tmp_path: Path, args: list[str], stdin: str | None,
                                     message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "task.md").write_text("fix add\n")
    (tmp_path / "empty.md").write_text("\n\n")
    (tmp_path / "huge.md").write_text("x" * 200_001)
    result = cli(*args, input=stdin)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize("args", [
    ["fix", "--thread", "../../x"], ["fix", "--thread", "a/b"], ["fix", "--thread", ".hidden"],
    ["workflow", "report", "../x"], ["workflow", "resume", "..", "--yes"],
    ["workflow", "show", "x y"],
])
def test_a_thread_id_that_is_not_a_plain_name_is_refused(repo: Path, args: list[str]) -> None:
    result = cli(*args, "-w", str(repo)) if args[0] == "fix" else cli(*args)
    assert result.exit_code == 2 and "is not a thread id" in result.stderr
    assert not (repo.parent / "x").exists() and not (repo / ".localagent").exists()


def test_a_deadline_running_out_exits_4(repo: Path, httpserver: HTTPServer,
                                        refused_url: str) -> None:
    def slow(request: Request) -> Response:
        time.sleep(3)
        return Response("{}", status=500)

    serve(httpserver, refused_url, performance={"deadline": 1})
    httpserver.clear_all_handlers()
    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)
    result = cli("--format", "json", "fix add", "-w", str(repo), "--yes", "--provider", SPEC)
    assert result.exit_code == 4, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "providers_failed" and "DeadlineExceeded" in doc["error"]


def test_deadline_exceeded_is_an_exit_4_wherever_it_surfaces() -> None:
    from localagent.cli.app import _exit_code
    from providers.errors import AllProvidersFailed, DeadlineExceeded

    assert _exit_code(DeadlineExceeded([], reason="deadline exceeded")) == 4
    assert _exit_code(AllProvidersFailed([])) == 4


def test_show_prints_the_pending_diff_line_by_line(repo: Path, httpserver: HTTPServer,
                                                   refused_url: str) -> None:
    serve(httpserver, refused_url)
    assert localagent("fix add", "-w", str(repo), "--thread", "d1", "--provider",
                      SPEC).returncode == 3
    assert localagent("workflow", "resume", "d1", "--answer", "yes").returncode == 3
    shown = cli("--format", "yaml", "workflow", "show", "d1").stdout
    assert "\n    -    return a - b\n    +    return a + b\n" in shown  # a literal block
    assert "\\n" not in shown
    diff = yaml.safe_load(shown)["pending"][0]["diff"]
    assert "-    return a - b\n+    return a + b\n" in diff
    rich = cli("workflow", "show", "d1").stdout
    assert "+    return a + b\n" in rich

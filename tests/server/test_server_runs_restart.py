"""Runs outlive the server: SIGTERM stops a run at its last checkpoint, the next start resumes
it, and what had finished is not done again (counted on the model's wire fake). The server is
a process of its own (tests/runs_server.py) that uvicorn stops on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from localagent.cli.app import app as cli_app
from tests.graph.test_workflow import FIXED, model, repo
from tests.graph_fakes import Gate, scripted_provider
from tests.runs_server import free_port, wait_up

__all__ = ["repo"]
pytestmark = pytest.mark.slow  # server processes, started twice
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[Path], tuple[subprocess.Popen[bytes], str]]]:
    """Start ``python -m tests.runs_server`` with one workspace root; all stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def run(root: Path) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        out = (tmp_path / f"server-{len(started)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "tests.runs_server", str(port),
                                 str(root)], cwd=ROOT, env={**os.environ}, stdout=out,
                                stderr=subprocess.STDOUT)
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_up(url, alive=lambda: proc.poll() is None)
        return proc, url

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for log in sorted(tmp_path.glob("server-*.log")):
        print(log.name, log.read_text()[-3000:])


class _Follower(threading.Thread):
    """Reads a run's SSE stream until the server ends it."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.kinds = url, list[str]()
        self.opened = threading.Event()

    def run(self) -> None:
        from httpx_sse import connect_sse

        with httpx.Client(timeout=60) as client, connect_sse(client, "GET", self.url) as src:
            self.opened.set()
            with contextlib.suppress(httpx.HTTPError):  # the server may cut it
                for sse in src.iter_sse():
                    self.kinds.append(json.loads(sse.data)["event"])


def _stopped(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM, then a clean shutdown (uvicorn exits with the signal it handled)."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()


def _wait_status(url: str, run: str, wanted: str, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shown = httpx.get(f"{url}/v1/runs/{run}", timeout=10).json()
        if shown.get("status") == wanted:
            return dict(shown)
        time.sleep(0.2)
    raise AssertionError(f"run {run} is {shown.get('status')}, not {wanted}, after {seconds}s")


def test_sigterm_leaves_the_run_resumable_and_the_next_start_resumes_it(
        repo: Path, httpserver: HTTPServer, tmp_path: Path,
        spawn: Callable[[Path], tuple[subprocess.Popen[bytes], str]]) -> None:
    scripted = model()
    gate = Gate("fix the add function")  # holds the execute branch's first model call
    scripted_provider(httpserver, scripted, gate)
    first, url = spawn(repo.parent)
    answer = httpx.post(f"{url}/v1/runs", json={
        "request": "fix add", "workspace": str(repo), "context": {"auto_approve": True}})
    assert answer.status_code == 201, answer.text
    run = answer.json()["id"]
    assert gate.arrived.wait(90), "the run never reached the execute phase"
    assert httpx.get(f"{url}/v1/runs/{run}").json()["status"] == "running"
    done_before = Counter(scripted.log)
    assert done_before["Scope"] == 1 and done_before["Plan"] == 1

    follower = _Follower(f"{url}/v1/runs/{run}/events")
    follower.start()
    assert follower.opened.wait(10)
    started = time.monotonic()
    _stopped(first, tmp_path / "server-0.log")
    stop_seconds = time.monotonic() - started
    follower.join(10)
    assert not follower.is_alive(), "an open event stream held the shutdown up"
    assert "phase_started" in follower.kinds
    gate.release.set()  # the held call answers a client that is gone

    status = CliRunner().invoke(cli_app, ["--format", "json", "workflow", "status", run])
    assert '"status": "stopped"' in status.stdout, status.output  # resumable

    _, url = spawn(repo.parent)
    shown = _wait_status(url, run, "done")
    assert shown["report"] and (repo / "calc.py").read_text() == FIXED
    done_after = Counter(scripted.log)
    # scope, research and plan had finished: the resumed run did not do them again
    for name in ("Scope", "Plan", "turn:Your area"):
        assert done_after[name] == done_before[name], name
    # the research branches' findings are kept; the execute branch reports once, now
    assert done_after["AgentFinding"] == done_before["AgentFinding"] + 1
    assert done_after["turn:fix the add function"] > done_before["turn:fix the add function"]
    assert stop_seconds < 10


def test_a_run_waiting_for_a_human_is_not_resumed_by_a_restart(
        repo: Path, httpserver: HTTPServer, tmp_path: Path,
        spawn: Callable[[Path], tuple[subprocess.Popen[bytes], str]]) -> None:
    scripted = model()
    scripted_provider(httpserver, scripted)
    first, url = spawn(repo.parent)
    run = httpx.post(f"{url}/v1/runs", json={"request": "fix add",
                                             "workspace": str(repo)}).json()["id"]
    _wait_status(url, run, "waiting")
    _stopped(first, tmp_path / "server-0.log")
    calls = len(scripted.log)
    _, url = spawn(repo.parent)
    time.sleep(1)
    shown = httpx.get(f"{url}/v1/runs/{run}").json()
    assert shown["status"] == "waiting" and shown["question"]["type"] == "confirm_scope"
    assert len(scripted.log) == calls

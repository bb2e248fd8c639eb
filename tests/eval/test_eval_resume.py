"""A killed eval (kill -9) resumes: finished attempts keep their results, the unfinished one
continues its checkpointed thread, the ones not started run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.eval_fakes import calc_task

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.eval_worker", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_resume_after_kill_9_runs_only_the_unfinished_tasks(tmp_path: Path) -> None:
    suite, logs = tmp_path / "suite", tmp_path / "logs"
    logs.mkdir()
    for name in ("a-first", "b-killed", "c-not-started"):
        calc_task(suite, name)
    output = tmp_path / "out" / "results.json"
    first = worker(str(suite), str(output), str(logs), "start", "b-killed")
    try:
        def b_planned() -> bool:  # its execute branch then hangs (a slow model call)
            log = logs / "b-killed.log"
            return log.exists() and "Plan" in log.read_text().split()

        wait_for(b_planned)
        time.sleep(1)
        assert [r["task"] for r in json.loads(output.read_text())["results"]] == ["a-first"]
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    a_calls = (logs / "a-first.log").read_text()
    assert not (logs / "c-not-started.log").exists()

    second = worker(str(suite), str(output), str(logs), "resume")
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out
    doc = json.loads(output.read_text())
    assert sorted((r["task"], r["outcome"]) for r in doc["results"]) == [
        ("a-first", "passed"), ("b-killed", "passed"), ("c-not-started", "passed")]
    assert (logs / "a-first.log").read_text() == a_calls  # not run again
    b_log = (logs / "b-killed.log").read_text().split()
    assert b_log.count("Scope") == 1  # its thread went on from its checkpoint
    assert b_log.count("turn:fix") >= 2

"""kill -9 in the middle of execute, then resume: nothing that finished runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker(tmp_path: Path, mode: str, slow: float = 0.0) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.resume_worker", str(tmp_path / "cp.sqlite"),
            str(tmp_path / "calls.log"), str(tmp_path / "ws"), "t1", mode, str(slow)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


def test_kill_mid_execute_then_resume(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    first = worker(tmp_path, "start", slow=60.0)
    deadline = time.monotonic() + 60
    # stream a finishes (two turns + its report) while stream b sleeps in its first turn
    while Counter(calls(tmp_path))["turn:stream a"] < 2 or calls(tmp_path).count(
            "AgentFinding") < 3:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, calls(tmp_path)
        time.sleep(0.1)
    time.sleep(1.0)  # let the branch's writes reach the checkpoint
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = Counter(calls(tmp_path))

    second = worker(tmp_path, "resume")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "STATUS done" in out
    after = Counter(calls(tmp_path)) - before
    # finished work is not repeated: scope, research, plan and stream a ran once
    assert before["Scope"] == 1 and after["Scope"] == 0
    assert before["Plan"] == 1 and after["Plan"] == 0
    assert after["turn:Your area"] == 0
    assert after["turn:stream a"] == 0
    assert after["turn:stream b"] == 2  # b was interrupted, so it runs (again)
    assert (tmp_path / "ws" / "a.txt").read_text() == "A\n"
    assert (tmp_path / "ws" / "b.txt").read_text() == "B\n"

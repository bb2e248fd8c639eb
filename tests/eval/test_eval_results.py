"""Eval numbers and output: the Wilson interval, the summary, progress lines."""

from __future__ import annotations

from typing import Any

import pytest

from localagent.eval.live import EvalProgress
from localagent.eval.results import summarize, summary_rows, wilson


def test_wilson_interval_matches_known_values() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(1, 1)
    assert round(low, 3) == 0.207 and high == 1.0
    low, high = wilson(5, 10)
    assert (round(low, 3), round(high, 3)) == (0.237, 0.763)
    low, high = wilson(0, 20)
    assert low == 0.0 and round(high, 3) == 0.161


def record(task: str, outcome: str, mode: str = "workflow", **extra: Any) -> dict[str, Any]:
    return {"task": task, "run": 1, "mode": mode, "outcome": outcome, "input_tokens": 100,
            "output_tokens": 10, "cost": 0.01, "model_calls": 4, "seconds": 2.0,
            "edited_tests": [], "phase": None if outcome == "passed" else "check", **extra}


def test_summary_counts_errors_apart_from_the_score() -> None:
    rows = [record("a", "passed"), record("b", "failed"),
            record("c", "error", phase="harness:setup"),
            record("d", "failed", phase="scope", edited_tests=["tests/t.py"]),
            record("a", "failed", mode="direct")]
    summary = summarize(rows)
    assert list(summary) == ["workflow", "direct"]
    flow = summary["workflow"]
    assert (flow["passed"], flow["scored"], flow["errors"]) == (1, 3, 1)
    assert flow["failures_by_phase"] == {"check": 1, "scope": 1, "harness:setup": 1}
    assert flow["input_tokens"] == 400 and flow["model_calls"] == 16
    assert flow["edited_tests"] == 1
    assert summary_rows(summary)[1][:3] == ["workflow", "1/3", "33% (6%-79%)"]


def test_progress_without_a_terminal_prints_one_line_per_result(
        capsys: pytest.CaptureFixture[str]) -> None:
    progress = EvalProgress(live=False)
    with progress:
        progress("workflow/a/1", {"status": "queued"})
        progress("workflow/b/1", {"status": "running"})
        progress("workflow/a/1", {"outcome": "failed", "reason": "timed out after 5s",
                                  "seconds": 5.0})
    assert capsys.readouterr().err == ("[1/2] workflow/a/1: failed (timed out after 5s) in "
                                       "5.0s\n")

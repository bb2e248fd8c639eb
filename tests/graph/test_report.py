"""The run report and the change history: every change set of the run kept, checks that
still fail said plainly, what answered and how long each phase took; a non-UTF-8 file is
left alone with a clear entry instead of failing the run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.workflow import build_workflow
from localagent.workflow.driver import drive
from localagent.workflow.progress import Tracker, View
from tests.graph.test_workflow import BUGGY, FIXED, PLAN, ctx, model, repo
from tests.graph_fakes import call

__all__ = ["repo"]  # the fixture, shared with test_workflow

WRONG = "def add(a, b):\n    return a * b\n"
NAMED = {"model_name": "scripted-7b"}


def _plan(focus: str, files: list[str]) -> dict[str, Any]:
    return {"summary": focus, "streams": [{**PLAN["streams"][0], "focus": focus,
                                           "files": files}]}


async def _run(graph: Any, repo: Path, **context: Any) -> tuple[Any, str, dict[str, Any]]:
    thread = uuid.uuid4().hex
    outcome = await drive(graph, {"request": "fix add", "workspace": str(repo)},
                          {"configurable": {"thread_id": thread}}, ctx(**context),
                          View(Tracker()))
    folder = repo / ".localagent" / "runs" / thread
    return (outcome, (folder / "report.md").read_text(),
            json.loads((folder / "report.json").read_text()))


async def test_a_validate_loop_keeps_every_change_set(repo: Path) -> None:
    turns = [("why validation failed", ["seen it"]), ("Your area", ["ok"]),
             ("first try at add", [[call("propose_edit", path="calc.py", content=WRONG)],
                                   "done"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=FIXED)],
                                      "done"])]
    scripted = model(turns=turns, metadata=NAMED, structured={
        "Plan": [_plan("first try at add", ["calc.py"]), PLAN]})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    outcome, report, data = await _run(graph, repo, max_iterations=2)
    applied = outcome.values["applied"]
    assert applied["status"] == "applied" and applied["paths"] == ["calc.py"]
    first, second = applied["sets"]
    assert first["id"] != second["id"]
    # each set's backup holds the file as it was before that set
    assert (Path(first["backup"]) / "files" / "calc.py").read_text() == BUGGY
    assert (Path(second["backup"]) / "files" / "calc.py").read_text() == WRONG
    assert (repo / "calc.py").read_text() == FIXED
    assert data["applied"]["sets"] == [first, second]
    assert [s["id"] for s in outcome.summary({})["change_sets"]] == [first["id"], second["id"]]
    assert "2 change set(s) applied, 1 file(s):" in report
    assert f"- change set `{first['id']}`: `calc.py`" in report
    assert f"- change set `{second['id']}`: `calc.py`" in report
    assert "applied: applied" not in report
    assert "- status: **done**" in report and "iterations: 1 validate" in report


async def test_checks_still_failing_are_said_with_their_output(repo: Path) -> None:
    turns = [("why validation failed", ["seen it"]), ("Your area", ["ok"]),
             ("first try at add", [[call("propose_edit", path="calc.py", content=WRONG)],
                                   "done"])]
    audit = {"passed": False, "findings": ["add multiplies"], "lessons": [], "replan": False}
    scripted = model(turns=turns, metadata=NAMED, structured={
        "Plan": [_plan("first try at add", ["calc.py"])], "AuditReport": [audit]})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    outcome, report, data = await _run(graph, repo, max_iterations=1)
    assert outcome.status == "done" and outcome.exit_code == 1
    assert data["status"] == "done" and data["checks_failing"] is True
    assert data["outcome"] == "done, checks failing"
    assert "- status: **done, checks failing**" in report
    assert "iterations: 1 validate → research loop(s)" in report
    assert "checks **failing**" in report and "exit 1" in report
    assert "```text" in report and "assert 6 == 5" in report  # the failing output
    assert "not passed\n- finding: add multiplies" in report
    assert "- plan: scripted-7b (2 calls)" in report
    assert "- execute: scripted-7b (" in report
    times = report.split("## Time per phase")[1]
    assert "- research: " in times and "- execute: " in times
    # the time research branches ran: overlapping ones count once, every loop counts
    research = data["usage"]["phase_seconds"]["research"]
    spans = [e for e in outcome.values["activity"]
             if e["kind"] == "branch" and e["phase"] == "research"]
    assert len(spans) == 3  # two areas, then the failure
    seconds = [e["seconds"] for e in spans]
    assert max(seconds) - 1e-6 <= research <= sum(seconds) + 1e-6


async def test_an_edit_to_a_non_utf8_file_is_refused_alone(repo: Path) -> None:
    legacy = "# caf\u00e9 au lait\nPRICE = 3\n".encode("latin-1")
    (repo / "legacy.py").write_bytes(legacy)
    turns = [("Your area", ["ok"]),
             ("fix the add function", [[call("propose_edit", path="legacy.py",
                                             content="# cafe\nPRICE = 4\n"),
                                        call("propose_edit", path="calc.py", content=FIXED)],
                                       "done"])]
    scripted = model(turns=turns, structured={"Plan": [_plan("fix the add function",
                                                              ["calc.py", "legacy.py"])]})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    outcome, report, data = await _run(graph, repo, max_iterations=0)
    assert outcome.status == "done" and outcome.exit_code == 0
    assert (repo / "legacy.py").read_bytes() == legacy
    assert (repo / "calc.py").read_text() == FIXED
    [conflict] = data["changes"]["conflicts"]
    assert conflict.startswith("legacy.py: not changed: the file is not UTF-8 text")
    assert f"- conflict: {conflict}" in report
    assert data["applied"]["paths"] == ["calc.py"]


@pytest.mark.parametrize("thread", ["../../outside", "/abs/path", "a/../../b", "..", "x y"])
def test_a_thread_id_never_leads_the_report_out_of_the_runs_folder(
        tmp_path: Path, thread: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under langgraph dev or the API any string can be a thread id: the report stays in
    <workspace>/.localagent/runs/<one folder>."""
    from nodes import report

    workspace = tmp_path / "ws"
    workspace.mkdir()
    monkeypatch.setattr(report, "thread_id", lambda: thread)
    path = report.write_report({"workspace": str(workspace), "request": "x"}, status="done")
    assert path is not None
    written = Path(path).resolve()
    runs = (workspace / ".localagent" / "runs").resolve()
    assert written.parent.parent == runs and written.name == "report.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]

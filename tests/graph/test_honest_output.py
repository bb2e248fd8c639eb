"""Honest output: degenerate answers (repetition, echoed prompts or instructions, empty
required fields) are marked in the state, the live display and the report; a tiny model is
named, once, as the reason results will be poor."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.state import AgentFinding, AuditReport, DocUpdate, Plan, Readiness, Scope
from graph.workflow import build_workflow
from localagent.cli.progress_view import LineView
from localagent.workflow.driver import drive
from localagent.workflow.progress import Tracker
from nodes.answers import degenerate, tiny_model_notice
from tests.graph.test_workflow import (
    AUDIT_OK,
    DOCS,
    FINDING,
    FIXED,
    PLAN,
    READY,
    SCOPE,
    ctx,
    model,
    repo,
)
from tests.graph_fakes import call

__all__ = ["repo"]  # the fixture, shared with test_workflow

TOOL_TEXT = "Propose the full new content of a workspace file (applied after review)."
LOOPING = {"ready": True, "summary": "The project has been completed.",
           "risks": ["buy milk", "call mum", "buy milk", "call mum", "buy milk", "call mum"]}
ECHOED = {"changelog_entry": "Write one changelog line for this change and list the docs "
                             "that should change (paths and what to say).", "doc_notes": []}
GEMMA = {"model_name": "gemma3-270m", "model_parameters": 268_098_176,
         "model_description": "Gemma 3 270m"}


@pytest.mark.parametrize(("schema", "answer"), [
    (Scope, SCOPE), (Plan, PLAN), (AgentFinding, FINDING), (AuditReport, AUDIT_OK),
    (DocUpdate, DOCS), (Readiness, READY),
    (AgentFinding, {"summary": "calc.add subtracts instead of adding; test_add expects 5 "
                               "for add(2, 3) and gets -1, so the fix is in calc.py line 2",
                    "findings": ["calc.py:2 returns a - b", "test_calc.py:5 asserts 5"]}),
])
def test_real_answers_are_not_flagged(schema: Any, answer: dict[str, Any]) -> None:
    assert degenerate(schema.model_validate(answer), prompt="fix add in calc.py",
                      schema=schema, instructions=[TOOL_TEXT]) is None


@pytest.mark.parametrize(("schema", "answer", "reason"), [
    (Readiness, LOOPING, "repeats 'buy milk' 3 times"),
    (Readiness, {"summary": "buy milk call mum " * 6}, "repeats itself"),
    (Scope, {"summary": " "}, "empty required field(s): summary"),
    (Plan, {"streams": [{"id": "a", "focus": ""}]}, "empty required field(s): streams[0].focus"),
    (AgentFinding, {"summary": TOOL_TEXT}, "repeats the instructions"),
    (AgentFinding, {"summary": "what you found or did, in 1-3 sentences"},
     "repeats the instructions"),  # the schema's own field description
    (DocUpdate, ECHOED, "repeats the instructions"),  # it contains the field's description
    (Readiness, {"summary": "Summarise whether this change is ready to ship: validation, "
                            "audit, open risks."}, "copies the prompt"),
])
def test_degenerate_answers_say_why(schema: Any, answer: dict[str, Any], reason: str) -> None:
    prompt = ("Summarise whether this change is ready to ship: validation, audit, open "
              "risks. Do not deploy.\n\nScope: fix add")
    found = degenerate(schema.model_validate(answer), prompt=prompt, schema=schema,
                       instructions=[TOOL_TEXT])
    assert found is not None and found.startswith(reason), found


async def _drive(graph: Any, repo: Path, capsys: pytest.CaptureFixture[str]
                 ) -> tuple[dict[str, Any], str, str]:
    thread = uuid.uuid4().hex
    config = {"configurable": {"thread_id": thread}}
    outcome = await drive(graph, {"request": "fix add", "workspace": str(repo)}, config,
                          ctx(max_iterations=0), LineView(Tracker()))
    report = (repo / ".localagent" / "runs" / thread / "report.md").read_text()
    return outcome.values, report, capsys.readouterr().err


async def test_degenerate_answers_are_marked_in_state_display_and_report(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    turns = [("Your area", [[call("list_files")], "ok"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=FIXED)],
                                      "done"])]
    scripted = model(turns=turns, structured={
        "Readiness": [LOOPING], "DocUpdate": [ECHOED],
        "AgentFinding": [{"summary": TOOL_TEXT, "findings": []}]})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    state, report, err = await _drive(graph, repo, capsys)
    assert state["readiness"]["degenerate"] == "repeats 'buy milk' 3 times"
    assert state["docs"]["degenerate"].startswith("repeats the instructions")
    assert state["execute_results"][0]["degenerate"].startswith("repeats the instructions")
    assert state["scope"].get("degenerate") is None  # the scope was a real answer
    flagged = {(e["phase"], e.get("stream")) for e in state["activity"] if e.get("degenerate")}
    assert {("readiness", ""), ("document", ""), ("execute", "fix-add")} <= flagged
    # the live display says so as it happens
    assert "⚠ readiness: the answer looks degenerate (repeats 'buy milk' 3 times)" in err
    assert "⚠ execute/fix-add: the answer looks degenerate (repeats the instructions" in err
    # and the report, next to each answer and in a list at the top
    assert "**Degenerate answers**" in report
    assert "ready: True ⚠ degenerate answer: repeats 'buy milk' 3 times" in report
    assert "fix-add (backend-engineer): ok" in report and "⚠ degenerate answer" in report


async def test_a_tiny_model_is_named_once_in_progress_and_report(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = build_workflow(model=model(metadata=GEMMA), checkpointer=InMemorySaver())
    state, report, err = await _drive(graph, repo, capsys)
    notice = tiny_model_notice(state["activity"])
    assert notice and notice.startswith("Gemma 3 270m (268M parameters")
    assert "cannot do real work" in notice and "--provider openai:gpt-4o-mini" in notice
    assert err.count("cannot do real work") == 1
    assert f"> **Note:** {notice}" in report
    runs = repo / ".localagent" / "runs"
    assert json.loads(next(runs.glob("*/report.json")).read_text())["notices"] == [notice]


async def test_a_real_sized_model_gets_no_notice(repo: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    graph = build_workflow(model=model(metadata={**GEMMA, "model_parameters": 7_000_000_000}),
                           checkpointer=InMemorySaver())
    _, report, err = await _drive(graph, repo, capsys)
    assert "cannot do real work" not in err and "**Note:**" not in report

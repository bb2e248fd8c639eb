"""The phase workflow, driven by a scripted model over a small real repository."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from graph.context import WorkflowContext
from graph.workflow import build_workflow
from tests.graph_fakes import PhaseModel, call, no_blocking, project_python

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"

SCOPE = {"summary": "make add() add", "goals": ["fix add"], "out_of_scope": [],
         "acceptance_checks": ["test_add passes"], "project_type": "python"}
PLAN = {"summary": "one fix", "streams": [
    {"id": "fix-add", "role": "backend-engineer", "focus": "fix the add function",
     "files": ["calc.py"], "acceptance_checks": ["test_add passes"], "depends_on": []}]}
FINDING = {"summary": "add() subtracts", "findings": ["calc.py:2 uses minus"]}
AUDIT_OK = {"passed": True, "findings": ["add fixed"], "lessons": [], "replan": False}
DOCS = {"changelog_entry": "Fix add()", "doc_notes": []}
READY = {"ready": True, "summary": "tests pass", "risks": []}


def make_repo(root: Path) -> Path:
    """The buggy calculator project (with its failing test and its own python) at ``root``."""
    root.mkdir(parents=True)
    (root / "calc.py").write_text(BUGGY)
    (root / "test_calc.py").write_text(TEST)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    project_python(root)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def model(**overrides: Any) -> PhaseModel:
    structured = {"Scope": [SCOPE], "Plan": [PLAN], "AgentFinding": [FINDING],
                  "AuditReport": [AUDIT_OK], "DocUpdate": [DOCS], "Readiness": [READY]}
    turns = [("Your area", [[call("list_files")], "done looking"]),
             ("fix the add function", [[call("read_file", path="calc.py")],
                                      [call("propose_edit", path="calc.py", content=FIXED,
                                            reason="use plus")], "done"])]
    return PhaseModel(structured={**structured, **overrides.pop("structured", {})},
                      turns=overrides.pop("turns", turns), **overrides)


async def run(graph: Any, payload: Any, thread: str, context: WorkflowContext
              ) -> tuple[list[Any], list[dict[str, Any]]]:
    config = {"configurable": {"thread_id": thread}}
    events: list[dict[str, Any]] = []
    interrupts: list[Any] = []
    with no_blocking():
        async for namespace, mode, chunk in graph.astream(
                payload, config, context=context, stream_mode=["custom", "updates"],
                durability="sync", subgraphs=True):
            if mode == "custom":
                events.append(chunk)
            elif not namespace and "__interrupt__" in chunk:
                interrupts.extend(chunk["__interrupt__"])
    return interrupts, events


def ctx(**kwargs: Any) -> WorkflowContext:
    return WorkflowContext(**{"auto_approve": True, "max_parallel_agents": 2,
                              "max_iterations": 1, **kwargs})


async def test_happy_path_fixes_the_repo_and_writes_a_report(repo: Path) -> None:
    scripted = model()
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    interrupts, events = await run(graph, {"request": "fix add", "workspace": str(repo)},
                                   thread, ctx())
    assert interrupts == []
    assert (repo / "calc.py").read_text() == FIXED
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "done"
    assert state["validation"]["passed"] is True
    assert state["validation"]["checks"][0]["command"] == "python -m pytest -q"
    report = json.loads((repo / ".localagent" / "runs" / thread / "report.json").read_text())
    assert report["status"] == "done"
    assert report["applied"]["paths"] == ["calc.py"]
    assert report["usage"]["model_calls"] == len(scripted.log)
    assert report["usage"]["tool_calls"] >= 3
    assert "```diff" in (repo / ".localagent" / "runs" / thread / "report.md").read_text()
    kinds = {e["kind"] for e in state["activity"]}
    assert {"model_call", "tool_call", "command", "timing"} <= kinds
    started = [e["phase"] for e in events if e["event"] == "phase_started"]
    assert started[:2] == ["scope", "research"]
    assert {"plan", "integrate", "validate", "audit", "document", "readiness"} <= set(started)
    # parallel branches: their events come in any order
    assert sorted(e["stream"] for e in events if e["event"] == "branch_started"
                  and e["phase"] == "research") == ["codebase", "tests"]
    # backups of the original were kept
    backup = Path(report["applied"]["sets"][0]["backup"]) / "files" / "calc.py"
    assert backup.read_text() == BUGGY


async def test_scope_feedback_rescopes_then_rejected_changes_touch_nothing(repo: Path) -> None:
    rescoped = {**SCOPE, "summary": "make add() add, keep the signature"}
    scripted = model(structured={"Scope": [SCOPE, rescoped]})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread, context = uuid.uuid4().hex, ctx(auto_approve=False)
    interrupts, _ = await run(graph, {"request": "fix add", "workspace": str(repo)}, thread,
                              context)
    assert [i.value["type"] for i in interrupts] == ["confirm_scope"]
    assert interrupts[0].value["scope"]["summary"] == "make add() add"
    interrupts, _ = await run(graph, Command(resume="keep the signature"), thread, context)
    assert interrupts[0].value["type"] == "confirm_scope"
    assert interrupts[0].value["scope"]["summary"] == rescoped["summary"]
    assert scripted.log.count("Scope") == 2
    interrupts, _ = await run(graph, Command(resume=True), thread, context)
    assert interrupts[0].value["type"] == "approve_changes"
    assert "-    return a - b\n+    return a + b" in interrupts[0].value["diff"]
    assert interrupts[0].value["files"] == ["calc.py"]
    interrupts, _ = await run(graph, Command(resume={"approved": False}), thread, context)
    assert interrupts == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "rejected"
    assert (repo / "calc.py").read_text() == BUGGY
    assert not (repo / ".localagent" / "backups").exists()
    assert (repo / ".localagent" / "runs" / thread / "report.md").is_file()


async def test_validation_failure_loops_back_and_stops_at_max_iterations(repo: Path) -> None:
    wrong = "def add(a, b):\n    return a * b\n"
    turns = [("why validation failed", ["seen it"]), ("Your area", ["nothing to read"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=wrong)],
                                      "done"])]
    scripted = model(turns=turns)
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    await run(graph, {"request": "fix add", "workspace": str(repo)}, thread,
              ctx(max_iterations=2, max_parallel_agents=1))
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["validation_loops"] == 2
    assert state["validation"]["passed"] is False
    assert "assert 6 == 5" in state["validation_failure"]
    assert scripted.log.count("Plan") == 3          # first plan + two loops
    assert scripted.log.count("turn:why validation failed") == 2
    assert state["status"] == "done"
    commands = [e for e in state["activity"] if e["kind"] == "command"]
    assert [c["exit_code"] for c in commands] == [1, 1, 1]


async def test_a_failing_branch_is_isolated(repo: Path) -> None:
    plan = {"summary": "two", "streams": [
        {**PLAN["streams"][0]},
        {"id": "docs", "role": "documentation-writer", "focus": "write the readme",
         "files": [], "acceptance_checks": [], "depends_on": []}]}
    turns = [("Your area", ["ok"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=FIXED)],
                                      "done"]),
             ("write the readme", [RuntimeError("provider exploded")])]
    graph = build_workflow(model=model(structured={"Plan": [plan]}, turns=turns),
                           checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    await run(graph, {"request": "fix add", "workspace": str(repo)}, thread, ctx())
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    results = {r["stream"]: r for r in state["execute_results"]}
    assert results["docs"]["status"] == "failed"
    assert "provider exploded" in results["docs"]["error"]
    assert results["fix-add"]["status"] == "ok"
    assert (repo / "calc.py").read_text() == FIXED
    assert state["status"] == "done"


async def test_research_branches_run_concurrently(repo: Path) -> None:
    scripted = model(delay=0.2)
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    await run(graph, {"request": "fix add", "workspace": str(repo)}, uuid.uuid4().hex,
              ctx(max_parallel_agents=4))
    assert scripted.max_active >= 2


async def test_dependent_streams_wait_and_waves_respect_the_limit(repo: Path) -> None:
    plan = {"summary": "three", "streams": [
        {"id": "a", "role": "backend-engineer", "focus": "stream a", "files": [],
         "acceptance_checks": [], "depends_on": []},
        {"id": "b", "role": "backend-engineer", "focus": "stream b", "files": [],
         "acceptance_checks": [], "depends_on": []},
        {"id": "c", "role": "backend-engineer", "focus": "stream c", "files": [],
         "acceptance_checks": [], "depends_on": ["a"]}]}
    turns = [("Your area", ["ok"]), ("stream a", ["a done"]), ("stream b", ["b done"]),
             ("stream c", ["c done"])]
    graph = build_workflow(model=model(structured={"Plan": [plan]}, turns=turns),
                           checkpointer=InMemorySaver())
    _, events = await run(graph, {"request": "x", "workspace": str(repo)}, uuid.uuid4().hex,
                          ctx(max_parallel_agents=1, max_iterations=0))
    order = [e["stream"] for e in events if e["event"] == "branch_started"
             and e["phase"] == "execute"]
    assert order == ["a", "b", "c"]

"""Interrupts across processes, every resume value form, and project-local roles."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from graph.workflow import build_workflow
from tests.graph.test_workflow import BUGGY, FIXED, PLAN, SCOPE, ctx, model, repo, run
from tests.graph_fakes import call

__all__ = ["repo"]  # the fixture, shared with test_workflow


async def test_resuming_an_interrupt_in_a_new_process_reruns_no_finished_branch(
        repo: Path, tmp_path: Path) -> None:
    db, thread = str(tmp_path / "cp.sqlite"), uuid.uuid4().hex
    context = ctx(auto_approve=False)
    first = model()
    async with AsyncSqliteSaver.from_conn_string(db) as saver:
        graph = build_workflow(model=first, checkpointer=saver)
        interrupts, _ = await run(graph, {"request": "fix add", "workspace": str(repo)},
                                  thread, context)
        assert interrupts[0].value["type"] == "confirm_scope"
        interrupts, _ = await run(graph, Command(resume=True), thread, context)
        assert interrupts[0].value["type"] == "approve_changes"
    assert first.log.count("turn:fix the add function") == 3
    # a fresh graph, saver and model, as after a restart: only the later phases call it
    second = model()
    async with AsyncSqliteSaver.from_conn_string(db) as saver:
        graph = build_workflow(model=second, checkpointer=saver)
        pending = (await graph.aget_state({"configurable": {"thread_id": thread}})).interrupts
        assert [i.value["type"] for i in pending] == ["approve_changes"]
        interrupts, _ = await run(graph, Command(resume=True), thread, context)
        state = (await graph.aget_state({"configurable": {"thread_id": thread}})).values
    assert interrupts == []
    assert second.log == ["AuditReport", "DocUpdate", "Readiness"]
    assert state["status"] == "done"
    assert (repo / "calc.py").read_text() == FIXED


async def test_scope_edits_in_a_dict_resume_are_kept(repo: Path) -> None:
    graph = build_workflow(model=model(), checkpointer=InMemorySaver())
    thread, context = uuid.uuid4().hex, ctx(auto_approve=False)
    await run(graph, {"request": "fix add", "workspace": str(repo)}, thread, context)
    edits = {"goals": ["fix add", "keep the signature"], "not_a_field": 1}
    interrupts, _ = await run(graph, Command(resume={"approved": True, "edits": edits}),
                              thread, context)
    assert interrupts[0].value["type"] == "approve_changes"
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["scope"]["goals"] == ["fix add", "keep the signature"]
    assert "not_a_field" not in state["scope"]
    assert state["scope"]["summary"] == SCOPE["summary"]


async def test_feedback_on_the_diff_replans_with_it_as_a_lesson(repo: Path) -> None:
    scripted = model()
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread, context = uuid.uuid4().hex, ctx(auto_approve=False)
    await run(graph, {"request": "fix add", "workspace": str(repo)}, thread, context)
    await run(graph, Command(resume=True), thread, context)
    interrupts, _ = await run(graph, Command(resume="also add a docstring"), thread, context)
    assert interrupts[0].value["type"] == "approve_changes"  # planned and executed again
    assert scripted.log.count("Plan") == 2
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["lessons"] == ["also add a docstring"]
    assert (repo / "calc.py").read_text() == BUGGY  # nothing applied yet
    interrupts, _ = await run(graph, Command(resume=False), thread, context)
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "rejected"
    assert (repo / "calc.py").read_text() == BUGGY


async def test_project_roles_add_a_role_with_its_own_tools(repo: Path) -> None:
    agents = repo / ".localagent" / "agents"
    agents.mkdir(parents=True)
    (agents / "calc-reviewer.md").write_text(
        "---\nname: calc-reviewer\ndescription: reads calc code, never edits\n"
        "tools: [read_file]\n---\nYou review arithmetic code.\n")
    plan = {"summary": "review", "streams": [{**PLAN["streams"][0], "role": "calc-reviewer"}]}
    turns = [("Your area", ["ok"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=FIXED)],
                                      "done"])]
    scripted = model(structured={"Plan": [plan]}, turns=turns)
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    await run(graph, {"request": "fix add", "workspace": str(repo)}, thread,
              ctx(max_iterations=0))
    state: dict[str, Any] = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["plan"]["streams"][0]["role"] == "calc-reviewer"  # known, so kept
    tool_calls = [e for e in state["activity"] if e["kind"] == "tool_call"
                  and e["stream"] == "fix-add"]
    assert tool_calls[0]["tool"] == "propose_edit" and tool_calls[0]["ok"] is False
    assert "no tool named 'propose_edit'" in tool_calls[0]["output_tail"]
    assert (repo / "calc.py").read_text() == BUGGY

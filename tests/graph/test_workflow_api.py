"""The compiled workflow as LangGraph users drive it: the sync API with a sync checkpointer,
the agent subgraph as a real node (drawn, streamed, inspectable), branch time budgets."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from graph.workflow import build_workflow
from nodes import agent_steps, branches
from tests.graph.test_workflow import BUGGY, FIXED, ctx, model, repo, run
from tests.graph_fakes import call

__all__ = ["repo"]  # the fixture, shared with test_workflow


def test_invoke_and_stream_with_a_sync_checkpointer(repo: Path, tmp_path: Path) -> None:
    scripted = model()
    config = {"configurable": {"thread_id": "sync-1"}}
    context = ctx(auto_approve=False)
    with SqliteSaver.from_conn_string(str(tmp_path / "cp.sqlite")) as saver:
        graph = build_workflow(model=scripted, checkpointer=saver)
        out = graph.invoke({"request": "fix add", "workspace": str(repo)}, config,
                           context=context)
        assert [i.value["type"] for i in out["__interrupt__"]] == ["confirm_scope"]
        events: list[dict[str, Any]] = []
        interrupts: list[Any] = []
        for namespace, mode, chunk in graph.stream(
                Command(resume="keep the signature"), config, context=context,
                stream_mode=["custom", "updates"], subgraphs=True):
            if mode == "custom":
                events.append(chunk)
            elif not namespace and "__interrupt__" in chunk:
                interrupts.extend(chunk["__interrupt__"])
        assert interrupts[0].value["type"] == "confirm_scope"  # re-scoped with the feedback
        assert scripted.log.count("Scope") == 2
        out = graph.invoke(Command(resume=True), config, context=context)
        assert out["__interrupt__"][0].value["type"] == "approve_changes"
        assert (repo / "calc.py").read_text() == BUGGY
        out = graph.invoke(Command(resume={"approved": True}), config, context=context)
    assert out["status"] == "done" and out["validation"]["passed"] is True
    assert (repo / "calc.py").read_text() == FIXED
    assert {e["event"] for e in events} == {"phase_started", "phase_finished"}


async def test_the_agent_subgraph_is_a_node_studio_draws_and_streams(repo: Path) -> None:
    graph = build_workflow(model=model(), checkpointer=InMemorySaver())
    drawn = set(graph.get_graph(xray=True).nodes)
    assert {"research_agent:think", "research_agent:act", "execute_agent:report",
            "execute_agent:think"} <= drawn
    assert drawn != set(graph.get_graph().nodes)
    assert [name for name, _ in graph.get_subgraphs()] == ["research_agent", "execute_agent"]
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    inner: list[tuple[str, str]] = []
    async for namespace, chunk in graph.astream(
            {"request": "fix add", "workspace": str(repo)}, config, context=ctx(),
            stream_mode="updates", subgraphs=True):
        if namespace:
            inner.extend((namespace[0].split(":")[0], name) for name in chunk)
    assert ("execute_agent", "act") in inner and ("research_agent", "think") in inner
    state = graph.get_state(config).values
    assert state["execute_results"][0]["edits"][0]["path"] == "calc.py"
    assert [b["stream"] for b in state["research"]] == ["codebase", "tests"]


@pytest.mark.parametrize("sync", [False, True])
async def test_a_branch_out_of_time_fails_alone(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                sync: bool) -> None:
    plan = {"summary": "two", "streams": [
        {"id": "slow", "role": "backend-engineer", "focus": "the slow stream", "files": [],
         "acceptance_checks": [], "depends_on": []},
        {"id": "fix-add", "role": "backend-engineer", "focus": "fix the add function",
         "files": ["calc.py"], "acceptance_checks": [], "depends_on": []}]}
    turns = [("Your area", ["ok"]),
             ("the slow stream", [[call("list_files")]] * 50),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=FIXED)],
                                      "done"])]
    # async: the model call is cancelled at the deadline; sync: the next step is refused
    monkeypatch.setattr(branches, "BRANCH_SECONDS", 0.5)
    if sync:  # slow tools
        monkeypatch.setattr(agent_steps, "act", branches.step(_slowed(agent_steps.act, 0.2)))
    scripted = model(structured={"Plan": [plan]}, turns=turns,
                     slow={} if sync else {"the slow stream": 30.0})
    graph = build_workflow(model=scripted, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    config = {"configurable": {"thread_id": thread}}
    payload = {"request": "fix add", "workspace": str(repo)}
    context = ctx(agent_step_limit=100, max_iterations=0)
    if sync:
        graph.invoke(payload, config, context=context)
    else:
        await run(graph, payload, thread, context)
    state = graph.get_state(config).values
    results = {r["stream"]: r for r in state["execute_results"]}
    assert results["slow"]["status"] == "failed"
    assert results["slow"]["error"].startswith("timed out")
    assert results["fix-add"]["status"] == "ok"
    assert (repo / "calc.py").read_text() == FIXED
    assert state["status"] == "done"


def _slowed(step: Any, seconds: float) -> Any:
    """An agent step that pauses first (a slow tool)."""
    inner = step.__wrapped__

    def slow(state: Any, runtime: Any, **factories: Any) -> Any:
        time.sleep(seconds)
        return inner(state, runtime, **factories)

    return slow

"""Fan-out: a branch's tools are made once, not on every turn; the number of research areas
and plan streams is what the scope and the plan produce, run ``max_parallel_agents`` at a
time."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.agent import build_agent
from graph.context import WorkflowContext
from graph.workflow import build_workflow
from localagent.security import SecurityPolicy
from nodes import tools
from nodes.model_calls import ModelSource
from tests.graph.test_workflow import FINDING, FIXED, SCOPE, ctx, model, repo, run
from tests.graph_fakes import PhaseModel, call

__all__ = ["repo"]  # the fixture


def _policy(workspace: str, context: WorkflowContext) -> SecurityPolicy:
    return SecurityPolicy(workspace, auto_approve=True)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every ``make_tools`` call's tool names."""
    made: list[list[str]] = []
    original = tools.make_tools

    def counted(policy: SecurityPolicy, names: list[str]) -> Any:
        made.append(list(names))
        return original(policy, names)

    monkeypatch.setattr(tools, "make_tools", counted)
    return made


def test_a_branch_of_several_turns_makes_its_tools_once(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _counting(monkeypatch)
    turns = [("fix the add function", [
        [call("list_files")], [call("read_file", path="calc.py")],
        [call("propose_edit", path="calc.py", content=FIXED, reason="use plus")], "done"])]
    scripted = PhaseModel(structured={"AgentFinding": [FINDING]}, turns=turns)
    agent = build_agent(ModelSource.fixed(scripted), _policy, checkpointer=InMemorySaver())
    branch = {"role": "backend-engineer", "task": "fix the add function", "stream": "fix-add",
              "phase": "execute", "workspace": str(repo)}
    out = agent.invoke(branch, {"configurable": {"thread_id": uuid.uuid4().hex}},
                       context=WorkflowContext())
    assert scripted.log.count("turn:fix the add function") == 4  # four turns, three acts
    assert made == [["list_files", "read_file", "search_code", "propose_edit", "run_command"]]
    # the proposal still reaches the branch's result, tagged with its stream
    [result] = out["execute_results"]
    assert result["status"] == "ok"
    assert [(e["path"], e["content"], e["stream"]) for e in result["edits"]] == [
        ("calc.py", FIXED, "fix-add")]
    # another run makes its own
    agent.invoke(branch, {"configurable": {"thread_id": uuid.uuid4().hex}},
                 context=WorkflowContext())
    assert len(made) == 2


SIX = ["the parser module", "the parser tests", "the CLI entry point", "the config loader",
       "the README usage section", "the packaging metadata"]


def _streams(count: int) -> dict[str, Any]:
    return {"summary": "six", "streams": [
        {"id": f"s{n}", "role": "backend-engineer", "focus": f"stream number {n}",
         "files": [], "acceptance_checks": [], "depends_on": []} for n in range(count)]}


@pytest.mark.parametrize(("parallel", "researched", "planned", "waves"), [
    (6, 6, 6, [0, 6]), (2, 2, 4, [0, 2, 4])])
async def test_fan_out_follows_the_scope_the_plan_and_max_parallel_agents(
        repo: Path, parallel: int, researched: int, planned: int, waves: list[int]) -> None:
    scripted = model(structured={"Scope": [{**SCOPE, "research_areas": SIX}],
                                 "Plan": [_streams(6)]},
                     turns=[("Your area", ["looked"]), ("stream number", ["done"])])
    graph = build_workflow(model=scripted, policies=_policy, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    _, events = await run(graph, {"request": "split the parser", "workspace": str(repo)},
                          thread, ctx(max_parallel_agents=parallel, max_iterations=0,
                                      phases=[0, 1, 2, 4]))  # a list, as the CLI gives
    research = [e["stream"] for e in events
                if e["event"] == "branch_started" and e["phase"] == "research"]
    assert sorted(research) == sorted([
        "the-parser-module", "the-parser-tests", "the-cli-entry-point", "the-config-loader",
        "the-readme-usage-section", "the-packaging-metadata"][:researched])
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    # a plan keeps two waves' worth of streams
    assert [s["id"] for s in state["plan"]["streams"]] == [f"s{n}" for n in range(planned)]
    assert sorted(state["done_streams"]) == [f"s{n}" for n in range(planned)]
    # execute sends at most ``max_parallel_agents`` branches a wave
    assert [e["done"] for e in events if e["event"] == "execute_progress"] == waves

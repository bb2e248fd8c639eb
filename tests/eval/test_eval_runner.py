"""The eval runner's mechanics, driven by scripted models over small real tasks: scoring by
the hidden check, timeouts, crashes, harness errors, edited tests, the direct baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage

from graph.context import WorkflowContext
from localagent.eval import results
from localagent.eval.runner import Runner, exit_code, new_doc
from localagent.eval.suite import Task, load_suite
from tests.eval_fakes import HIDDEN, WRONG, calc_task, direct_answer, edit_model
from tests.graph.test_workflow import BUGGY, FIXED
from tests.graph_fakes import PhaseModel


def context() -> WorkflowContext:
    return WorkflowContext(auto_approve=True, max_parallel_agents=2, max_iterations=0,
                           phases=(0, 1, 2, 3, 4, 5))  # validation is the hidden check's job here


async def evaluate(suite: Path, models: dict[str, Any], *, baseline: str | None = None,
                   parallel: int = 2, runs: int = 1) -> tuple[dict[str, Any], Path]:
    name, tasks = load_suite(str(suite))
    output = suite.parent / "out" / "results.json"
    doc = new_doc(name, None, runs=runs, baseline=baseline, command="test", tasks=tasks)

    def model_for(task: Task, mode: str) -> Any:
        return models[f"{mode}/{task.name}" if mode == "direct" else task.name]

    await Runner(doc, output, tasks, parallel=parallel, model=model_for,
                 context=context()).run()
    assert results.load(output) == doc  # what was returned is what was saved
    return doc, output


def by_task(doc: dict[str, Any], mode: str = "workflow") -> dict[str, dict[str, Any]]:
    return {r["task"]: r for r in doc["results"] if r["mode"] == mode}


async def test_a_known_good_edit_scores_1_of_1_and_a_wrong_edit_0_of_1(tmp_path: Path
                                                                      ) -> None:
    suite = tmp_path / "suite"
    calc_task(suite, "good")
    calc_task(suite, "wrong")
    doc, output = await evaluate(suite, {"good": edit_model(), "wrong": edit_model(WRONG)})
    rows = by_task(doc)
    assert rows["good"]["outcome"] == "passed"
    assert rows["wrong"]["outcome"] == "failed"
    assert rows["wrong"]["phase"] == "check"
    assert "exit 1" in rows["wrong"]["reason"]
    assert "assert 6 == 5" in rows["wrong"]["check"]["output"]
    assert rows["good"]["model_calls"] > 3 and rows["good"]["input_tokens"] > 0
    summary = results.summarize(doc["results"])["workflow"]
    assert (summary["passed"], summary["scored"]) == (1, 2)
    assert summary["failures_by_phase"] == {"check": 1}
    assert exit_code(doc) == 0
    # the agent's copy got the edit; the task's own workspace is untouched
    work = output.parent / "results.work" / "attempts"
    assert (work / "workflow-good-r1" / "workspace" / "calc.py").read_text() == FIXED
    assert (suite / "good" / "workspace" / "calc.py").read_text() == BUGGY
    assert "| good | 1 | workflow | passed |" in results.markdown(doc)


async def test_timeout_fails_with_its_reason_and_a_crash_leaves_the_others_scored(
        tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    for name in ("slow", "crash", "good"):
        calc_task(suite, name, timeout=10 if name == "slow" else 120)
    calc_task(suite, "broken-setup", setup="echo no such tool >&2; exit 3")
    models = {"slow": edit_model(slow={"fix the add function": 60.0}),
              "crash": edit_model(structured={"Scope": [RuntimeError("model fell over")]}),
              "good": edit_model(), "broken-setup": edit_model()}
    doc, _ = await evaluate(suite, models, parallel=4)
    rows = by_task(doc)
    assert rows["slow"]["outcome"] == "failed"
    assert rows["slow"]["reason"] == "timed out after 10s"
    assert rows["slow"]["phase"] == "execute"
    assert rows["crash"]["outcome"] == "failed"
    assert "model fell over" in rows["crash"]["reason"]
    assert rows["crash"]["phase"] == "scope"
    assert rows["good"]["outcome"] == "passed"
    assert rows["broken-setup"]["outcome"] == "error"
    assert rows["broken-setup"]["phase"] == "harness:setup"
    assert "exited 3: no such tool" in rows["broken-setup"]["reason"]
    assert exit_code(doc) == 1  # the harness failed on one task
    summary = results.summarize(doc["results"])["workflow"]
    assert (summary["passed"], summary["scored"], summary["errors"]) == (1, 3, 1)


class Peeking(PhaseModel):
    """Records every file under the eval's work folder at each model call."""

    root: str = ""
    seen: set[str] = set()

    async def _agenerate(self, messages: list[BaseMessage], *args: Any,
                         **kwargs: Any) -> Any:
        self.seen.update(p.name for p in Path(self.root).rglob("*") if p.is_file())
        return await super()._agenerate(messages, *args, **kwargs)


async def test_the_check_is_nowhere_in_reach_during_the_run(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    calc_task(suite, "peek")
    base = edit_model()
    peeking = Peeking(structured=base.structured, turns=base.turns,
                      root=str(tmp_path / "out" / "results.work"))
    doc, output = await evaluate(suite, {"peek": peeking})
    assert {"calc.py", "test_calc.py"} <= peeking.seen  # it looked at the copies
    assert HIDDEN not in peeking.seen
    assert by_task(doc)["peek"]["outcome"] == "passed"  # and the check ran after
    scoring = output.parent / "results.work" / "attempts" / "workflow-peek-r1" / "scoring"
    assert (scoring / HIDDEN).is_file()
    assert not (scoring.parent / "workspace" / HIDDEN).exists()


async def test_a_task_that_edits_its_tests_is_flagged_and_checked_against_the_originals(
        tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    task = calc_task(suite, "cheat")
    # the hidden check here is the visible test file itself, and the agent rewrites it
    (task / "check" / HIDDEN).write_text("from test_calc import *  # noqa\n")
    (task / "workspace" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    cheat = edit_model(turns=[("Your area", ["done"]), ("fix the add function", [
        [{"name": "propose_edit", "args": {"path": "test_calc.py", "content": "def test_x():\n"
                                           "    pass\n", "reason": "simplify"}}], "done"])])
    doc, _ = await evaluate(suite, {"cheat": cheat})
    row = by_task(doc)["cheat"]
    assert row["edited_tests"] == ["test_calc.py"]
    assert row["outcome"] == "failed"  # the original test still fails on the buggy add


async def test_the_direct_baseline_is_scored_side_by_side(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    calc_task(suite, "calc")
    seen: list[str] = []

    class Recording(FakeListChatModel):
        async def ainvoke(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(messages[1].content))
            return await super().ainvoke(messages, *args, **kwargs)

    direct = Recording(responses=[direct_answer(FIXED)])
    doc, _ = await evaluate(suite, {"calc": edit_model(WRONG), "direct/calc": direct},
                            baseline="direct")
    assert by_task(doc)["calc"]["outcome"] == "failed"
    row = by_task(doc, "direct")["calc"]
    assert row["outcome"] == "passed" and row["model_calls"] == 1
    assert row["changed"] == ["calc.py"]
    assert "make add() add" in seen[0] and BUGGY.strip() in seen[0]
    assert HIDDEN not in seen[0]
    summary = results.summarize(doc["results"])
    assert list(summary) == ["workflow", "direct"]
    assert summary["direct"]["passed"] == 1 and summary["workflow"]["passed"] == 0
    diffs, _ = results.compare(doc, {"results": [
        {**r, "outcome": "passed"} for r in doc["results"]]})
    assert diffs[1:] == [["workflow", "calc", "0/1", "1/1", "better"]]


async def test_direct_edits_outside_the_workspace_are_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    calc_task(suite, "escape")
    outside = tmp_path / "escaped.py"
    answer = "FILE: ../../../../../escaped.py\n```\nboom\n```\n"
    doc, _ = await evaluate(suite, {"escape": edit_model(),
                                    "direct/escape": FakeListChatModel(responses=[answer])},
                            baseline="direct")
    row = by_task(doc, "direct")["escape"]
    assert not outside.exists()
    assert row["outcome"] == "failed" and "refused edits outside" in row["reason"]


@pytest.mark.parametrize("runs", [2])
async def test_runs_repeat_each_task(tmp_path: Path, runs: int) -> None:
    suite = tmp_path / "suite"
    calc_task(suite, "twice")
    doc, _ = await evaluate(suite, {"twice": edit_model()}, runs=runs)
    assert sorted((r["task"], r["run"]) for r in doc["results"]) == [("twice", 1),
                                                                    ("twice", 2)]
    assert {r["thread"] for r in doc["results"]} == {"workflow-twice-r1", "workflow-twice-r2"}

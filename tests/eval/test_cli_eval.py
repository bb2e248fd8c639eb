"""`localagent eval` end to end: the configured openai-compatible provider is a local fake of
the OpenAI wire protocol answering from the workflow's phase scripts (and the direct
baseline's one call); bad input exits 2; `eval compare`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pytest_httpserver import HTTPServer

from tests.cli_util import run
from tests.eval_fakes import calc_task, direct_answer, edit_model
from tests.graph.test_workflow import FIXED
from tests.graph_fakes import scripted_provider


def configure(httpserver: HTTPServer) -> None:
    model = edit_model()
    model.turns.append(("Request: make add() add", [direct_answer(FIXED)]))
    scripted_provider(httpserver, model)
    path = Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["workflow"] = {"max_iterations": 0, "phases": [0, 1, 2, 3, 4, 5]}
    path.write_text(yaml.safe_dump(config))


def test_eval_scores_the_workflow_and_the_direct_baseline(tmp_path: Path,
                                                           httpserver: HTTPServer) -> None:
    configure(httpserver)
    suite = tmp_path / "suite"
    calc_task(suite, "calc")
    output = tmp_path / "results.json"
    code, out, err = run("--format", "json", "eval", str(suite), "--baseline", "direct",
                         "--output", str(output))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["results"] == str(output) and f"results: {output}" in err
    assert doc["summary"]["workflow"]["passed"] == 1
    assert doc["summary"]["direct"]["passed"] == 1
    assert doc["summary"]["direct"]["model_calls"] == 1
    saved = json.loads(output.read_text())
    assert saved["provider"] == "openai-compatible:scripted"
    assert {(r["mode"], r["outcome"]) for r in saved["results"]} == {
        ("workflow", "passed"), ("direct", "passed")}
    assert "| workflow | 1/1 | 100% (21%-100%)" in output.with_suffix(".md").read_text()

    # the same output again is refused; --resume finds nothing left to run
    code, _, err = run("eval", str(suite), "--output", str(output))
    assert code == 2 and "exists: resume it with --resume" in err
    calls = len(httpserver.log)
    code, out, err = run("--format", "json", "eval", str(suite), "--resume", "--output",
                         str(output))
    assert code == 0, err
    assert len(httpserver.log) == calls

    code, out, _ = run("--format", "json", "eval", "compare", str(output), str(output))
    assert code == 0 and json.loads(out)["differences"] == []

    alone = tmp_path / "direct.json"  # the baseline alone: one call per task
    code, out, err = run("--format", "json", "eval", str(suite), "--baseline", "direct",
                         "--baseline-only", "--output", str(alone))
    assert code == 0, err
    assert list(json.loads(out)["summary"]) == ["direct"]
    assert len(httpserver.log) == calls + 1
    code, out, _ = run("--format", "json", "eval", "compare", str(output), str(alone))
    assert json.loads(out)["differences"] == [
        {"mode": "workflow", "task": "calc", "A": "1/1", "B": "-", "change": "only in A"}]


def test_eval_bad_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    code, _, err = run("eval", str(tmp_path / "missing"))
    assert code == 2 and "no such suite directory" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "task.yaml").write_text("request: x\n")
    code, _, err = run("eval", str(tmp_path / "bad"))
    assert code == 2 and "task.yaml: check: Field required" in err
    suite = tmp_path / "suite"
    calc_task(suite, "calc")
    code, _, err = run("eval", str(suite), "--baseline", "fancy")
    assert code == 2 and "'fancy' is not known" in err
    code, _, err = run("eval", str(suite), "--baseline-only")
    assert code == 2 and "--baseline-only needs --baseline direct" in err
    code, _, err = run("eval", str(suite), "--tasks", "nothing-*")
    assert code == 2 and "no task of suite 'suite' matches" in err
    code, _, err = run("eval", str(suite), "--resume")
    assert code == 2 and "no results of suite 'suite' to resume" in err
    code, _, err = run("eval", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert code == 2 and "no such results file" in err

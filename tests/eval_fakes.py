"""A small eval suite on disk and scripted models for it (shared by the eval tests and the
resume worker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.graph.test_workflow import BUGGY, FIXED, model
from tests.graph_fakes import PhaseModel, call, project_python

WRONG = "def add(a, b):\n    return a * b\n"
VISIBLE_TEST = "from calc import add\n\n\ndef test_add_small():\n    assert add(0, 0) == 0\n"
HIDDEN = "test_hidden_calc.py"
HIDDEN_TEST = ("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
               "    assert add(-1, 1) == 0\n")


def calc_task(suite: Path, name: str, *, timeout: float = 120, setup: str = "") -> Path:
    """A task: calc.py subtracts; the hidden check wants it to add."""
    task = suite / name
    workspace = task / "workspace"
    workspace.mkdir(parents=True)
    (workspace / "calc.py").write_text(BUGGY)
    (workspace / "test_calc.py").write_text(VISIBLE_TEST)
    (workspace / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    project_python(workspace)
    (task / "check").mkdir()
    (task / "check" / HIDDEN).write_text(HIDDEN_TEST)
    lines = ["request: make add() add", f"timeout: {timeout}",
             f"check:\n  command: python -m pytest -q -p no:cacheprovider {HIDDEN}",
             "  files: check", "tags: [python]"]
    if setup:
        lines.append(f"setup: [{json.dumps(setup)}]")
    (task / "task.yaml").write_text("\n".join(lines) + "\n")
    return task


def edit_model(content: str = FIXED, **overrides: Any) -> PhaseModel:
    """The workflow's scripted model, whose one execute branch writes ``content``."""
    turns = [("Your area", [[call("list_files")], "done looking"]),
             ("fix the add function", [[call("read_file", path="calc.py")],
                                      [call("propose_edit", path="calc.py", content=content,
                                            reason="fix")], "done"])]
    return model(turns=overrides.pop("turns", turns), **overrides)


def direct_answer(content: str) -> str:
    return f"Here you go.\n\nFILE: calc.py\n```python\n{content}```\n"

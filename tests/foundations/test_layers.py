"""The import layers (``[tool.importlinter]`` in pyproject.toml) hold: ``lint-imports`` passes
on the code, and fails on a copy of it with one import going the wrong way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("providers", "prompts", "localagent", "graph", "nodes")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``root`` (they are what gets imported)."""
    return subprocess.run([str(LINT), "--no-cache", "--no-logo"], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_the_code_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _add_import(module: Path, line: str) -> None:
    # inside a function, where a lazy import hides: it counts as much as a top-level one
    module.write_text(module.read_text() + f"\n\ndef _wrong_way() -> None:\n    {line}\n")


@pytest.mark.slow
@pytest.mark.parametrize(("module", "line", "contract"), [
    ("providers/errors.py", "import localagent.paths", "import nothing of ours"),
    ("prompts/__init__.py", "from nodes import answers", "import nothing of ours"),
    ("localagent/security/runner.py", "import localagent.cli.output", "Imports flow one way"),
    ("nodes/merge.py", "import graph.workflow", "Imports flow one way"),
    ("graph/state.py", "import localagent.keys", "do no I/O"),
    ("localagent/config/sections.py", "import localagent.config.loader", "No import cycles"),
])
def test_an_import_the_wrong_way_breaks_a_contract(copy: Path, module: str, line: str,
                                                  contract: str) -> None:
    assert lint(copy).returncode == 0
    _add_import(copy / module, line)
    done = lint(copy)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, done.stdout

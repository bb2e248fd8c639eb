"""A project's commands (validation's ``python -m pytest``, an agent's ``run_command``) run the
project's Python: its ``.venv``/``venv``, else ``$VIRTUAL_ENV``, else the one on PATH; never
LocalAgent's own interpreter, whose pytest plugins are not the project's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from localagent.security import SecurityPolicy
from localagent.security.interpreter import python_name
from nodes.validate import detect_checks


def _python(bin_dir: Path, says: str) -> Path:
    """A ``python`` that says who it is on stderr, then runs the test interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\necho "{says}" >&2\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    # like a real venv's: the sandbox binds "home" back when it lies under a masked /tmp
    (bin_dir.parent / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    return python


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "test_it.py").write_text("def test_it():\n    assert True\n")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    return root


@pytest.mark.parametrize("venv", [".venv", "venv"])
def test_the_projects_virtualenv_comes_first(project: Path, venv: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    _python(project / venv / "bin", "project python")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "activated"))
    _python(tmp_path / "activated" / "bin", "activated python")
    result = SecurityPolicy(project).run("python -m pytest -q")
    assert result.exit_code == 0, result.output
    assert "project python" in result.output and "activated python" not in result.output


def test_else_the_activated_virtualenv(project: Path, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    _python(tmp_path / "activated" / "bin", "activated python")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "activated"))
    result = SecurityPolicy(project).run("python -m pytest -q")
    assert result.exit_code == 0 and "activated python" in result.output


def test_else_the_python_on_path_not_localagents_own(project: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    _python(tmp_path / "on-path", "python on PATH")
    monkeypatch.setenv("PATH", f"{tmp_path / 'on-path'}:/usr/bin:/bin")
    result = SecurityPolicy(project).run("python -m pytest -q")
    assert "python on PATH" in result.output, result.output


def test_python3_when_the_project_has_no_python(project: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    only = tmp_path / "only-python3"
    only.mkdir()
    (only / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(only))
    assert python_name(project) == "python3"
    assert detect_checks(project) == ["python3 -m pytest -q"]
    _python(project / ".venv" / "bin", "project python")  # a virtualenv has ``python``
    assert detect_checks(project) == ["python -m pytest -q"]

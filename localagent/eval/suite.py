"""Eval suites: a directory of ``task.yaml`` files (or a named adapter such as ``humaneval``),
each one task: a workspace, a request, setup commands, a hidden check, a timeout and tags.

```yaml
request: fix the failing test in tests/test_calc.py
workspace: workspace          # a directory, or a git bundle (*.bundle), beside task.yaml
setup: ["git init -q"]        # run in the workspace copy before the agent starts
check:
  command: python -m pytest -q hidden
  files: check                # copied into the scoring copy only after the agent finished
  protect: ["tests/**"]       # restored to the original before the check; edits are flagged
timeout: 600
tags: [python, bugfix]
```
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path

from pydantic import ValidationError

from localagent.eval.task import (
    DEFAULT_PROTECT,
    IGNORED,
    TASK_FILE,
    Check,
    SuiteError,
    Task,
    TaskSpec,
)

__all__ = ["DEFAULT_PROTECT", "IGNORED", "TASK_FILE", "Check", "SuiteError", "Task", "TaskSpec",
           "load_suite", "load_task", "select"]


def _problem(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def load_task(path: Path) -> Task:
    """A ``task.yaml`` (or the directory holding one), checked: every error names the file."""
    import yaml

    file = path / TASK_FILE if path.is_dir() else path
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{file}: no such task file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{file}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{file}: expected a mapping with request, workspace and check, got "
                         f"{type(raw).__name__}")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(f"{file}: {_problem(exc)}") from None
    base = file.parent
    workspace = _inside(base, spec.workspace, file, "workspace")
    if not workspace.exists():
        raise SuiteError(f"{file}: workspace: {spec.workspace} does not exist beside the task "
                         "file (a directory or a git bundle)")
    if workspace.is_file() and workspace.suffix != ".bundle":
        raise SuiteError(f"{file}: workspace: {spec.workspace} is a file but not a git bundle "
                         "(*.bundle)")
    check_dir = None
    if spec.check.files is not None:
        check_dir = _inside(base, spec.check.files, file, "check.files")
        if not check_dir.is_dir():
            raise SuiteError(f"{file}: check.files: {spec.check.files} is not a directory")
        if workspace.is_dir() and (workspace == check_dir or workspace in check_dir.parents):
            raise SuiteError(f"{file}: check.files must not be inside the workspace: the agent "
                             "would see the check")
    return Task(name=spec.name or base.name, request=spec.request, workspace=workspace,
                setup=spec.setup, check=spec.check, check_dir=check_dir, timeout=spec.timeout,
                tags=spec.tags, source=str(file))


def _inside(base: Path, relative: str, file: Path, field: str) -> Path:
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise SuiteError(f"{file}: {field}: {relative} leaves the task's directory")
    return resolved


def load_suite(spec: str) -> tuple[str, list[Task]]:
    """The suite's name and tasks: ``humaneval`` (the PyPI package's problems) or a directory
    searched for ``task.yaml`` files. Duplicate names and an empty suite are errors."""
    if spec == "humaneval":
        from localagent.eval.humaneval import humaneval_tasks

        return "humaneval", humaneval_tasks()
    root = Path(spec).expanduser()
    if not root.exists():
        raise SuiteError(f"{spec}: no such suite directory (or say 'humaneval')")
    if root.is_file():
        return root.parent.name, [load_task(root)]
    files = sorted(p for p in root.rglob(TASK_FILE)
                   if not any(part in IGNORED for part in p.relative_to(root).parts))
    if not files:
        raise SuiteError(f"{spec}: no {TASK_FILE} found under it")
    tasks = [load_task(f) for f in files]
    seen: dict[str, str] = {}
    for task in tasks:
        if task.name in seen:
            raise SuiteError(f"task name {task.name!r} is used twice: {seen[task.name]} and "
                             f"{task.source}")
        seen[task.name] = task.source
    return root.resolve().name, tasks


def select(tasks: list[Task], pattern: str | None, limit: int | None) -> list[Task]:
    """Tasks whose name (or a tag) matches the glob, then the first ``limit`` of them."""
    if pattern:
        patterns = [p.strip() for p in pattern.split(",") if p.strip()]
        tasks = [t for t in tasks if any(fnmatch.fnmatchcase(t.name, p) or any(
            fnmatch.fnmatchcase(tag, p) for tag in t.tags) for p in patterns)]
    return tasks[:limit] if limit is not None else tasks


def materialize(task: Task, dest: Path) -> None:
    """The task's pristine workspace at ``dest`` (which must not exist)."""
    if task.workspace is not None and task.workspace.is_file():
        done = subprocess.run(["git", "clone", "-q", str(task.workspace), str(dest)],
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise SuiteError(f"{task.workspace}: git clone of the bundle failed: "
                             f"{done.stderr.strip()[-500:]}")
    elif task.workspace is not None:
        shutil.copytree(task.workspace, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache",
                                                      ".localagent"))
    else:
        dest.mkdir(parents=True)
    write_texts(dest, task.files)


def write_texts(root: Path, texts: dict[str, str]) -> None:
    for relative, text in texts.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def copy_check(task: Task, dest: Path) -> None:
    """The hidden check's files into a scoring copy (they win over the agent's files)."""
    if task.check_dir is not None:
        shutil.copytree(task.check_dir, dest, dirs_exist_ok=True, symlinks=True)
    write_texts(dest, task.check_texts)


def check_names(task: Task) -> set[str]:
    """The relative paths of the check's files (to prove none is in a workspace copy)."""
    names = set(task.check_texts)
    if task.check_dir is not None:
        names |= {str(p.relative_to(task.check_dir)) for p in task.check_dir.rglob("*")
                  if p.is_file()}
    return names

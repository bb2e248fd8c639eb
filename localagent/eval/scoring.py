"""Scoring a finished attempt, outside the agent's reach: a separate copy of what the agent
left, its protected (test) files put back as they were, the hidden check copied in, then the
check command run there with a time limit."""

from __future__ import annotations

import fnmatch
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from localagent.eval.suite import IGNORED, Task, copy_check

OUTPUT_CHARS = 2000


@dataclass
class CheckResult:
    passed: bool
    exit_code: int | None
    output: str
    seconds: float
    edited_tests: list[str] = field(default_factory=list)
    reason: str = ""


def _files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part in IGNORED for part in relative.parts):
            continue
        if path.is_file() or path.is_symlink():
            found[relative.as_posix()] = path
    return found


def _protected(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def restore_protected(original: Path, attempt: Path, patterns: list[str]) -> list[str]:
    """Put the original protected files back into ``attempt``; returns those the agent had
    changed or deleted (files it added are left: new tests are welcome)."""
    edited = []
    for name, source in sorted(_files(original).items()):
        if not _protected(name, patterns):
            continue
        target = attempt / name
        same = target.is_file() and not target.is_symlink() and (
            target.read_bytes() == source.read_bytes())
        if not same:
            edited.append(name)
            if target.is_symlink() or target.exists():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return edited


def check_env() -> dict[str, str]:
    """The check runs with the Python that runs the eval (it has pytest) first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_command(command: str, cwd: Path, timeout: float) -> tuple[int | None, str, float]:
    """``bash -c command`` in its own process group (killed whole at the time limit)."""
    import time

    start = time.monotonic()
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=check_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        code = None
    text = out.decode("utf-8", "replace")
    return code, text, round(time.monotonic() - start, 3)


def score(task: Task, original: Path, attempt: Path, scoring: Path) -> CheckResult:
    """Copy ``attempt`` to ``scoring``, restore protected files from ``original``, add the
    check and run it. ``attempt`` itself is not changed."""
    from localagent.redact import scrub

    if scoring.exists():
        shutil.rmtree(scoring)
    shutil.copytree(attempt, scoring, symlinks=True,
                    ignore=shutil.ignore_patterns(".localagent", "__pycache__",
                                                  ".pytest_cache"))
    edited = restore_protected(original, scoring, task.check.protect)
    copy_check(task, scoring)
    code, output, seconds = run_command(task.check.command, scoring, task.check.timeout)
    reason = ""
    if code is None:
        reason = f"check timed out after {task.check.timeout:g}s"
    elif code != 0:
        reason = f"check failed (exit {code})"
    return CheckResult(passed=code == 0, exit_code=code, output=scrub(output[-OUTPUT_CHARS:]),
                       seconds=seconds, edited_tests=edited, reason=reason)

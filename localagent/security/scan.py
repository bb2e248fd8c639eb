"""What a sandbox has to know about a workspace right before a command runs: the protected
paths (read-only inside), the ``deny_read`` files (masked), at any depth; and the secret
values those files hold, so that no command output can carry them."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from localagent.security.paths import Workspace, matches

# Dependency and cache trees are not searched: they are large, and nothing LocalAgent or
# git reads for configuration lives there.
SCAN_SKIP = frozenset({"node_modules", ".venv", "venv", ".tox", ".nox", "__pycache__",
                       ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
                       "target"})
MAX_SECRET_FILE = 64 * 1024
_ASSIGNED = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*(.+?)\s*$")


@dataclass
class Found:
    """Existing paths in the workspace that are protected or hidden (real paths)."""

    protected: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)


class _Patterns:
    """Workspace patterns compiled for a walk that stops at every match: a name-only pattern
    (``.git``, ``*.pem``, ``.localagent/**``) is checked on each entry's name, since its
    parents were checked on the way down; a pattern with a slash on the relative path."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        names = [p.removesuffix("/**") for p in patterns if "/" not in p.removesuffix("/**")]
        self.names = re.compile("|".join(fnmatch.translate(n) for n in names)) if names \
            else None
        self.paths = tuple(p for p in patterns if "/" in p.removesuffix("/**"))

    def match(self, rel: str, name: str) -> bool:
        if self.names is not None and self.names.match(name):
            return True
        return bool(self.paths) and matches(rel, self.paths) is not None


def scan(workspace: Workspace) -> Found:
    """Protected and ``deny_read`` paths anywhere in the workspace, without descending into
    them, into symlinked directories or into dependency trees."""
    found = Found()
    protected, hidden = _Patterns(workspace.protected), _Patterns(workspace.deny_read)
    root = str(workspace.root)
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            rel = entry.path[len(root) + 1:]
            if protected.match(rel, entry.name):
                found.protected.append(Path(entry.path))
            elif hidden.match(rel, entry.name):
                found.hidden.append(Path(entry.path))
            elif entry.name not in SCAN_SKIP and entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return found


def remove_new(before: list[Path], after: list[Path]) -> list[Path]:
    """Delete protected paths a command created (``.git``, ``.localagent``...): a hook or a
    project config planted there would run later, outside the sandbox."""
    removed: list[Path] = []
    known = set(before)
    for path in after:
        if path in known or any(path.is_relative_to(k) for k in known):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def secret_values(paths: list[Path]) -> list[str]:
    """The values held in ``deny_read`` files: every assigned value (``KEY=value``,
    ``key: value``) and every other non-empty line, for output redaction."""
    values: list[str] = []
    for path in paths:
        try:
            if not path.is_file() or path.stat().st_size > MAX_SECRET_FILE:
                continue
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            assigned = _ASSIGNED.match(line)
            values.append(assigned.group(1).strip("'\"") if assigned else line)
    return values

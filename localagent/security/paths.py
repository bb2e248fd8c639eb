"""Workspace confinement: every path an agent names must resolve inside the workspace."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from localagent.security.denied import PolicyDenied

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__",
                       ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", "dist", "build",
                       ".localagent", ".idea"})


def _matches_one(path: PurePosixPath, pattern: str) -> bool:
    """A pattern with a slash matches from the workspace root; one without a slash matches
    a name at any depth (``.git`` is ``nested/.git`` too)."""
    if "/" in pattern:
        return fnmatch.fnmatchcase(str(path), pattern)
    return fnmatch.fnmatchcase(path.name, pattern)


def matches(relative: str, patterns: Sequence[str]) -> str | None:
    """The first pattern matching a workspace-relative path. ``dir/**`` matches everything
    below ``dir`` (at any depth when ``dir`` has no slash); a pattern without a slash
    matches the file name alone."""
    path = PurePosixPath(relative)
    for pattern in patterns:
        if pattern.endswith("/**"):
            prefix = pattern[:-3]
            if any(_matches_one(p, prefix) for p in (path, *path.parents) if str(p) != "."):
                return pattern
        elif _matches_one(path, pattern):
            return pattern
    return None





class Workspace:
    """A directory the agent works in, with paths it may not read or write."""

    def __init__(self, root: str | Path, *, protected: Sequence[str] = (),
                 deny_read: Sequence[str] = ()) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise NotADirectoryError(f"workspace {str(root)!r} is not an existing directory")
        self.root = Path(os.path.realpath(path))
        self.protected = tuple(protected)
        self.deny_read = tuple(deny_read)

    def resolve(self, path: str | Path) -> Path:
        """The real path (symlinks followed) of ``path``; denied if it leaves the workspace."""
        raw = str(path)
        if "\x00" in raw:
            raise PolicyDenied("path_escape", f"path {raw!r} contains a NUL byte", target=raw)
        candidate = Path(raw)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = Path(os.path.realpath(candidate))
        if resolved != self.root and not resolved.is_relative_to(self.root):
            how = "a symlink" if _through_symlink(candidate, self.root) else "the path"
            raise PolicyDenied(
                "path_escape",
                f"{raw!r} resolves to {resolved}, outside the workspace {self.root} ({how})",
                target=raw, hint="use a path inside the workspace, relative to its root")
        return resolved

    def relative(self, path: str | Path) -> str:
        return self._inside(self.resolve(path))

    def _inside(self, resolved: Path) -> str:
        """The workspace-relative form of a path ``resolve`` returned (no second lookup)."""
        return "." if resolved == self.root else resolved.relative_to(self.root).as_posix()

    def check_read(self, path: str | Path) -> Path:
        resolved = self.resolve(path)
        rel = self._inside(resolved)
        pattern = matches(rel, self.deny_read)
        if pattern:
            raise PolicyDenied("read_denied", f"{rel!r} matches security.deny_read {pattern!r}",
                               target=rel, hint="this file may hold secrets; ask the user")
        return resolved

    def check_write(self, path: str | Path) -> Path:
        resolved = self.resolve(path)
        rel = self._inside(resolved)
        if rel == ".":
            raise PolicyDenied("protected_path", "cannot write the workspace root itself",
                               target=rel)
        pattern = matches(rel, self.protected)
        if pattern:
            raise PolicyDenied("protected_path",
                               f"{rel!r} matches security.protected_paths {pattern!r}",
                               target=rel, hint="propose changes to project files only")
        if resolved.is_dir():
            raise PolicyDenied("protected_path", f"{rel!r} is a directory", target=rel)
        return resolved

    def read_text(self, path: str | Path, *, max_bytes: int) -> str:
        """A text file's content; longer than ``max_bytes`` it is cut with a note saying so."""
        resolved = self.check_read(path)
        rel = self._inside(resolved)
        if not resolved.is_file():
            raise PolicyDenied("not_found", f"{rel!r} is not a file", target=rel)
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(max_bytes)
        if b"\x00" in data[:8192]:
            raise PolicyDenied("binary", f"{rel!r} is a binary file ({size} bytes)", target=rel)
        text = data.decode("utf-8", errors="replace")
        if size > max_bytes:
            text += (f"\n[truncated: {rel} is {size} bytes; security.max_file_bytes is "
                     f"{max_bytes}]")
        return text

    def iter_files(self, start: str | Path = ".") -> Iterator[str]:
        """Workspace-relative paths of files under ``start``, without following symlinked
        directories and skipping VCS, dependency and cache directories."""
        for full, linked in _walk(self.resolve(start)):
            if linked:
                try:
                    rel = self.relative(full)
                except PolicyDenied:
                    continue  # a symlink out of the workspace
            else:  # under the walk's real directories and no link itself: a real path
                rel = self._inside(full)
            if not matches(rel, self.deny_read):
                yield rel


def _walk(directory: Path) -> Iterator[tuple[Path, bool]]:
    """Files under ``directory`` (and whether each is a symlink), a directory's files
    first, then its subdirectories, each in name order; symlinked directories and
    ``SKIP_DIRS`` are not entered. The directory entries say what is a link: no lookup a
    file."""
    try:
        with os.scandir(directory) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
    except OSError:  # unreadable, or not a directory: nothing listed (as os.walk)
        return
    subdirectories = []
    for entry in ordered:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIP_DIRS:
                subdirectories.append(entry)
        elif not entry.is_dir():  # a file, a link to one, or a broken link (as os.walk)
            yield directory / entry.name, entry.is_symlink()
    for entry in subdirectories:
        yield from _walk(directory / entry.name)


def _through_symlink(candidate: Path, root: Path) -> bool:
    current = candidate
    while current != current.parent:
        if current.is_symlink():
            return True
        current = current.parent
    return False

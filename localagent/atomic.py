"""Atomic file replacement: temp file in the same directory, fsync, rename, fsync dir.

Given ``within`` (a workspace root), the directories below it are opened one component at
a time without following symlinks and the file is written relative to that descriptor: a
directory swapped for a symlink after the policy checked the path fails the write instead
of landing it outside."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path, PurePath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


@contextlib.contextmanager
def open_dir(root: Path, relative: PurePath, *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``root/relative``, each component below ``root`` opened with
    ``O_NOFOLLOW`` (and made when ``create``); a symlink on the way raises ``OSError``."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts:
            if part in ("..", "/"):
                raise OSError(f"{relative} leaves {root}")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _split(path: Path, within: Path) -> tuple[PurePath, str]:
    relative = Path(path).relative_to(within)
    if not relative.name:
        raise OSError(f"{path} is {within} itself")
    return relative.parent, relative.name


def read_within(path: Path, within: Path) -> bytes:
    """The bytes of ``path`` under ``within``, read without following any symlink."""
    parent, name = _split(path, within)
    with open_dir(within, parent) as dirfd:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC,
                     dir_fd=dirfd)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()


def unlink_within(path: Path, within: Path) -> None:
    """Remove ``path`` under ``within`` (no symlink followed); gone already is fine."""
    parent, name = _split(path, within)
    try:
        with open_dir(within, parent) as dirfd:
            os.unlink(name, dir_fd=dirfd)
    except FileNotFoundError:
        pass


def _write_at(dirfd: int, name: str, payload: bytes, mode: int | None) -> None:
    if mode is None:
        try:
            mode = os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    tmp = f".{name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, flags, 0o600, dir_fd=dirfd)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        raise
    with contextlib.suppress(OSError):
        os.fsync(dirfd)


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None,
                 within: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new file, never a mix.

    The file keeps its permission bits unless ``mode`` is given; a new file gets ``mode``
    or 0644. A crash at any point leaves the original file untouched. With ``within``, no
    symlink between ``within`` and the file is followed (see the module docstring).
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    if within is not None:
        parent, name = _split(path, within)
        directory = open_dir(within, parent, create=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        name, directory = path.name, open_dir(path.parent, PurePath())
    with directory as dirfd:
        _write_at(dirfd, name, payload, mode)


def write_private(path: Path, data: bytes | str) -> None:
    """Atomic write readable by the owner only (0600), its directory 0700 when created."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    atomic_write(path, data, mode=0o600)

"""Change sets: every file change backed up first, written atomically, rolled back together."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localagent import atomic
from localagent.atomic import atomic_write, read_within, unlink_within
from localagent.security.paths import Workspace

BACKUP_DIR = ".localagent/backups"


@dataclass(frozen=True)
class FileChange:
    """New content for a workspace-relative path; ``content=None`` deletes the file."""

    path: str
    content: str | None


@dataclass
class BackupEntry:
    path: str
    existed: bool
    mode: int | None = None


@dataclass
class AppliedChanges:
    """What a change set did, and where its backups are (``restore`` undoes it)."""

    id: str
    backup_dir: Path
    entries: list[BackupEntry] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [entry.path for entry in self.entries]


class ChangeSetFailed(Exception):
    """A write failed; every file the change set had touched was put back."""

    def __init__(self, path: str, cause: BaseException, rolled_back: list[str]) -> None:
        self.path, self.cause, self.rolled_back = path, cause, rolled_back
        super().__init__(f"writing {path!r} failed ({cause}); rolled back "
                         f"{len(rolled_back)} file(s): {', '.join(rolled_back) or 'none'}")


def apply_changes(workspace: Workspace, changes: list[FileChange]) -> AppliedChanges:
    """Check every path, back up every original, then write each file atomically.

    Nothing is written unless every path passes the policy; if any write fails, the files
    already written are restored from their backups and ``ChangeSetFailed`` is raised.
    """
    targets = [(change, workspace.check_write(change.path)) for change in changes]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    change_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
    applied = AppliedChanges(change_id, workspace.root / BACKUP_DIR / change_id)
    files_dir = applied.backup_dir / "files"
    root = workspace.root
    for _change, target in targets:
        rel = workspace.relative(target)
        entry = BackupEntry(rel, target.exists())
        if entry.existed:
            entry.mode = target.stat().st_mode & 0o7777
            atomic.atomic_write(files_dir / rel, read_within(target, root), mode=entry.mode,
                                within=root)
        applied.entries.append(entry)
    _write_manifest(applied, root)

    done: list[BackupEntry] = []
    for (change, target), entry in zip(targets, applied.entries, strict=True):
        try:
            workspace.check_write(target)  # again: a command may have moved things since
            if change.content is None:
                unlink_within(target, root)
            else:
                atomic_write(target, change.content, mode=entry.mode, within=root)
        except BaseException as exc:
            done.append(entry)  # a failed write may have left a partial new file
            stuck = _rollback(workspace, applied, done)
            raise ChangeSetFailed(entry.path, exc,
                                  [e.path for e in done if e.path not in stuck]) from exc
        done.append(entry)
    return applied


def restore(workspace: Workspace, backup_dir: Path) -> list[str]:
    """Undo an applied change set from its backup directory; returns the paths restored."""
    backup_dir = Path(os.path.realpath(backup_dir))
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    applied = AppliedChanges(manifest["id"], backup_dir,
                             [BackupEntry(**entry) for entry in manifest["entries"]])
    stuck = _rollback(workspace, applied, applied.entries)
    return [path for path in applied.paths if path not in stuck]


def _rollback(workspace: Workspace, applied: AppliedChanges,
              entries: list[BackupEntry]) -> list[str]:
    """Put back what ``entries`` changed; returns the paths that could not be (a directory
    on the way became a symlink): their backups stay where they are."""
    root = workspace.root
    stuck: list[str] = []
    for entry in reversed(entries):
        target = root / entry.path
        try:
            if entry.existed:
                backup = applied.backup_dir / "files" / entry.path
                data = (read_within(backup, root) if backup.is_relative_to(root)
                        else backup.read_bytes())
                atomic_write(target, data, mode=entry.mode, within=root)
            else:
                unlink_within(target, root)
        except OSError:
            stuck.append(entry.path)
    return stuck


def _write_manifest(applied: AppliedChanges, root: Path) -> None:
    manifest = {"id": applied.id, "created": time.time(), "pid": os.getpid(),
                "entries": [asdict(entry) for entry in applied.entries]}
    atomic_write(applied.backup_dir / "manifest.json", json.dumps(manifest, indent=1),
                 within=root)

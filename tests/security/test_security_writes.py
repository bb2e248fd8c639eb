"""Change sets: approval, backups, atomic writes, all-or-nothing rollback, crash safety."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from localagent.security import (
    ChangeSetFailed,
    FileChange,
    PolicyDenied,
    SecurityPolicy,
    restore,
    writes,
)
from localagent.security.paths import Workspace
from localagent.security.writes import apply_changes

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "a.txt").write_text("A1\n")
    (root / "c.txt").write_text("C1\n")
    (root / "gone.txt").write_text("G1\n")
    (root / "src" / "mod.py").write_text("x = 1\n")
    for path in root.rglob("*.*"):
        path.chmod(0o644)  # whatever the umask
    return root


@pytest.fixture
def policy(ws, audit):
    return SecurityPolicy(ws, audit=audit)


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_writes_need_approval(policy, ws, audit):
    before = snapshot(ws)
    with pytest.raises(PolicyDenied) as info:
        policy.apply([FileChange("a.txt", "A2\n"), FileChange("new.txt", "N\n")])
    exc = info.value
    assert (exc.kind, exc.target) == ("not_approved", "a.txt, new.txt")
    assert exc.reason == "writing 2 file(s) needs the user's approval"
    assert exc.tool_error() == "denied (not_approved): writing 2 file(s) needs the user's approval"
    assert snapshot(ws) == before
    assert not (ws / ".localagent").exists()
    (entry,) = audit.entries()
    assert (entry["event"], entry["action"], entry["kind"]) == (
        "policy_denied", "write", "not_approved")
    assert entry["reason"] == exc.reason


def test_approved_flag_auto_approve_and_callback(ws, audit):
    policy = SecurityPolicy(ws, audit=audit)
    policy.apply([FileChange("a.txt", "by flag\n")], approved=True)
    assert (ws / "a.txt").read_text() == "by flag\n"

    SecurityPolicy(ws, audit=audit, auto_approve=True).apply([FileChange("a.txt", "auto\n")])
    assert (ws / "a.txt").read_text() == "auto\n"

    seen: list[list[FileChange]] = []
    answers = iter([False, True])

    def approve(changes):
        seen.append(changes)
        return next(answers)

    asking = SecurityPolicy(ws, audit=audit, approve=approve)
    change = [FileChange("a.txt", "asked\n")]
    with pytest.raises(PolicyDenied, match=r"^denied \(not_approved\)"):
        asking.apply(change)
    assert (ws / "a.txt").read_text() == "auto\n"
    asking.apply(change)
    assert (ws / "a.txt").read_text() == "asked\n"
    assert seen == [change, change]
    events = [e["event"] for e in audit.entries()]
    assert events == ["files_written", "files_written", "policy_denied", "files_written"]


def test_backups_and_manifest(policy, ws, audit):
    applied = policy.apply([FileChange("a.txt", "A2\n"), FileChange("src/mod.py", "x = 2\n"),
                            FileChange("new/deep/n.txt", "N\n")], approved=True)
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", applied.id)
    assert applied.backup_dir == policy.workspace.root / ".localagent" / "backups" / applied.id
    files = applied.backup_dir / "files"
    assert (files / "a.txt").read_text() == "A1\n"
    assert (files / "src" / "mod.py").read_text() == "x = 1\n"
    assert not (files / "new").exists()
    manifest = json.loads((applied.backup_dir / "manifest.json").read_text())
    assert manifest["id"] == applied.id and manifest["pid"] == os.getpid()
    assert manifest["entries"] == [
        {"path": "a.txt", "existed": True, "mode": 0o644},
        {"path": "src/mod.py", "existed": True, "mode": 0o644},
        {"path": "new/deep/n.txt", "existed": False, "mode": None}]
    assert applied.paths == ["a.txt", "src/mod.py", "new/deep/n.txt"]
    assert (ws / "a.txt").read_text() == "A2\n"
    assert (ws / "new" / "deep" / "n.txt").read_text() == "N\n"
    entry = audit.entries()[-1]
    assert (entry["event"], entry["id"], entry["paths"]) == ("files_written", applied.id,
                                                              applied.paths)


def test_file_mode_is_preserved_and_new_files_get_0644(policy, ws):
    (ws / "run.sh").write_text("#!/bin/sh\necho 1\n")
    (ws / "run.sh").chmod(0o755)
    (ws / "private.txt").write_text("p\n")
    (ws / "private.txt").chmod(0o600)
    applied = policy.apply([FileChange("run.sh", "#!/bin/sh\necho 2\n"),
                            FileChange("private.txt", "q\n"), FileChange("fresh.txt", "f\n")],
                           approved=True)
    assert (ws / "run.sh").stat().st_mode & 0o7777 == 0o755
    assert (ws / "private.txt").stat().st_mode & 0o7777 == 0o600
    assert (ws / "fresh.txt").stat().st_mode & 0o7777 == 0o644
    restore(policy.workspace, applied.backup_dir)
    assert (ws / "run.sh").read_text() == "#!/bin/sh\necho 1\n"
    assert (ws / "run.sh").stat().st_mode & 0o7777 == 0o755


def test_deletion_and_restore(policy, ws):
    before = snapshot(ws)
    applied = policy.apply([FileChange("gone.txt", None), FileChange("never.txt", None),
                            FileChange("a.txt", "A2\n"), FileChange("new.txt", "N\n")],
                           approved=True)
    assert not (ws / "gone.txt").exists() and not (ws / "never.txt").exists()
    assert restore(policy.workspace, applied.backup_dir) == [
        "gone.txt", "never.txt", "a.txt", "new.txt"]
    after = {k: v for k, v in snapshot(ws).items() if not k.startswith(".localagent/")}
    assert after == before


@pytest.mark.parametrize("bad, kind", [
    ("../evil.txt", "path_escape"), ("/etc/evil.txt", "path_escape"),
    (".git/config", "protected_path"), (".localagent/backups/x", "protected_path"),
    ("src", "protected_path"), ("a\x00.txt", "path_escape"),
])
def test_one_denied_path_means_nothing_is_written(policy, ws, audit, bad, kind):
    (ws / ".git").mkdir()
    before = snapshot(ws)
    changes = [FileChange("a.txt", "A2\n"), FileChange("new.txt", "N\n"), FileChange(bad, "x"),
               FileChange("c.txt", None)]
    with pytest.raises(PolicyDenied) as info:
        policy.apply(changes, approved=True)
    assert info.value.kind == kind
    assert str(info.value) == info.value.tool_error()
    assert info.value.tool_error().startswith(f"denied ({kind}): ")
    assert snapshot(ws) == before
    assert not (ws / ".localagent").exists()
    assert not (ws.parent / "evil.txt").exists()
    entry = audit.entries()[-1]
    assert (entry["event"], entry["action"], entry["kind"]) == ("policy_denied", "write", kind)
    assert entry["reason"] == info.value.reason
    with pytest.raises(PolicyDenied):  # the low-level function checks every path first too
        apply_changes(policy.workspace, changes)
    assert snapshot(ws) == before


def test_denial_tool_error_carries_reason_and_hint(policy, audit):
    with pytest.raises(PolicyDenied) as info:
        policy.apply([FileChange("../x", "x")], approved=True)
    exc = info.value
    assert exc.tool_error().startswith("denied (path_escape): '../x' resolves to ")
    assert exc.tool_error().endswith(". use a path inside the workspace, relative to its root")
    line = json.loads(audit.path.read_text().splitlines()[-1])
    assert line["event"] == "policy_denied" and line["kind"] == "path_escape"
    assert "outside the workspace" in line["reason"]


@pytest.mark.parametrize("fail_on", ["new.txt", "c.txt"])
def test_failed_write_rolls_back_the_whole_set(policy, ws, monkeypatch, fail_on):
    (ws / "a.txt").chmod(0o755)
    real = writes.atomic_write
    calls: list[str] = []

    def flaky(path, data, *, mode=None, within=None):
        calls.append(Path(path).name)
        if Path(path).name == fail_on and calls.count(fail_on) == 1:
            Path(path).write_text("partial")  # a failure may leave a half-written file
            raise OSError(28, "No space left on device")
        return real(path, data, mode=mode, within=within)

    monkeypatch.setattr(writes, "atomic_write", flaky)
    before = snapshot(ws)
    changes = [FileChange("a.txt", "A2\n"), FileChange("gone.txt", None),
               FileChange("new.txt", "N\n"), FileChange("c.txt", "C2\n")]
    with pytest.raises(ChangeSetFailed) as info:
        policy.apply(changes, approved=True)
    exc = info.value
    touched = ["a.txt", "gone.txt", "new.txt", "c.txt"]
    touched = touched[:touched.index(fail_on) + 1]
    assert exc.path == fail_on
    assert exc.rolled_back == touched
    assert isinstance(exc.cause, OSError) and exc.__cause__ is exc.cause
    assert f"rolled back {len(touched)} file(s)" in str(exc)
    after = {k: v for k, v in snapshot(ws).items() if not k.startswith(".localagent/")}
    assert after == before
    assert not (ws / "new.txt").exists()
    assert (ws / "a.txt").stat().st_mode & 0o7777 == 0o755
    assert calls[0] == "manifest.json"


def test_restore_undoes_an_applied_set(policy, ws):
    before = snapshot(ws)
    first = policy.apply([FileChange("a.txt", "A2\n"), FileChange("src/new.py", "n\n")],
                         approved=True)
    assert snapshot(ws)["a.txt"] == "A2\n"
    assert restore(policy.workspace, first.backup_dir) == ["a.txt", "src/new.py"]
    after = {k: v for k, v in snapshot(ws).items() if not k.startswith(".localagent/")}
    assert after == before


CRASH_ATOMIC = """
import os, sys
from pathlib import Path
from localagent.atomic import atomic_write

def crash(*args, **kwargs):
    os._exit(1)

setattr(os, sys.argv[2], crash)
atomic_write(Path(sys.argv[1]), "NEW CONTENT\\n")
"""

CRASH_CHANGESET = """
import os, sys
from localagent.security.paths import Workspace
from localagent.security.writes import FileChange, apply_changes

real = os.replace
seen = []

def replace(src, dst, *args, **kwargs):
    seen.append(str(dst))
    if seen.count("c.txt") == 2:  # the first one is its backup
        os._exit(1)
    return real(src, dst, *args, **kwargs)

os.replace = replace
apply_changes(Workspace(sys.argv[1]), [FileChange("a.txt", "A2\\n"), FileChange("c.txt", "C2\\n")])
"""


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where", ["replace", "fsync"])
def test_crash_mid_atomic_write_keeps_the_original(ws, where):
    target = ws / "a.txt"
    target.chmod(0o640)
    done = run_python(CRASH_ATOMIC, str(target), where)
    assert done.returncode == 1, done.stderr
    assert target.read_text() == "A1\n"
    assert target.stat().st_mode & 0o7777 == 0o640
    leftovers = list(ws.glob(".a.txt.*.tmp"))  # proof the crash came after the data was written
    assert len(leftovers) == 1 and leftovers[0].read_text() == "NEW CONTENT\n"


def test_crash_mid_change_set_is_recoverable_from_the_backup(ws):
    done = run_python(CRASH_CHANGESET, str(ws))
    assert done.returncode == 1, done.stderr
    assert (ws / "a.txt").read_text() == "A2\n"  # written before the crash
    assert (ws / "c.txt").read_text() == "C1\n"  # the interrupted write left it intact
    (manifest,) = ws.glob(".localagent/backups/*/manifest.json")
    space = Workspace(ws)
    assert restore(space, manifest.parent) == ["a.txt", "c.txt"]
    assert (ws / "a.txt").read_text() == "A1\n"
    assert (ws / "c.txt").read_text() == "C1\n"

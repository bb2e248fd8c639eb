"""Workspace confinement: traversal, symlinks, NUL bytes, deny_read, protected paths."""

from __future__ import annotations

import os

import pytest

from localagent.config.sections import SecuritySettings
from localagent.security import PolicyDenied, SecurityPolicy
from localagent.security.paths import Workspace


@pytest.fixture
def outside(tmp_path):
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("top secret\n")
    return out


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.txt").write_text("beta\n")
    return root


@pytest.fixture
def policy(ws, audit):
    return SecurityPolicy(ws, audit=audit)


@pytest.fixture
def space(policy):
    return policy.workspace


def denied(call, *args, **kwargs) -> PolicyDenied:
    with pytest.raises(PolicyDenied) as info:
        call(*args, **kwargs)
    return info.value


def test_workspace_must_be_an_existing_directory(tmp_path):
    with pytest.raises(NotADirectoryError):
        Workspace(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        Workspace(tmp_path / "file")


@pytest.mark.parametrize("path, expected", [
    ("a.txt", "a.txt"), ("./a.txt", "a.txt"), ("sub/b.txt", "sub/b.txt"),
    ("sub/../a.txt", "a.txt"), ("sub/./b.txt", "sub/b.txt"),
    ("new/dir/file.py", "new/dir/file.py"), (".", "."), ("sub/..", "."),
])
def test_paths_inside_the_workspace_resolve(space, path, expected):
    assert space.relative(path) == expected
    resolved = space.resolve(path)
    assert resolved == (space.root if expected == "." else space.root / expected)


def test_absolute_path_inside_the_workspace_is_allowed(space):
    assert space.resolve(str(space.root / "sub" / "b.txt")) == space.root / "sub" / "b.txt"


@pytest.mark.parametrize("path", [
    "..", "../outside/secret.txt", "sub/../../outside/secret.txt", "../../../../etc/passwd",
    "sub/../../ws-evil/x",
])
def test_dotdot_traversal_is_denied(space, path):
    exc = denied(space.resolve, path)
    assert exc.kind == "path_escape"
    assert "outside the workspace" in exc.reason
    assert "(the path)" in exc.reason
    assert exc.target == path


def test_absolute_paths_outside_are_denied(space, tmp_path, outside):
    for path in ("/etc/passwd", "/", str(outside / "secret.txt"), str(tmp_path)):
        exc = denied(space.resolve, path)
        assert exc.kind == "path_escape", path
        assert str(space.root) in exc.reason


def test_sibling_directory_sharing_the_prefix_is_outside(space, tmp_path):
    evil = tmp_path / "ws-evil"
    evil.mkdir()
    (evil / "x").write_text("x")
    assert denied(space.resolve, str(evil / "x")).kind == "path_escape"


def test_symlinked_file_pointing_outside_is_denied(space, outside):
    (space.root / "link.txt").symlink_to(outside / "secret.txt")
    exc = denied(space.resolve, "link.txt")
    assert exc.kind == "path_escape"
    assert "(a symlink)" in exc.reason
    assert str(outside / "secret.txt") in exc.reason
    assert denied(space.read_text, "link.txt", max_bytes=4096).kind == "path_escape"
    assert denied(space.check_write, "link.txt").kind == "path_escape"
    assert (outside / "secret.txt").read_text() == "top secret\n"


def test_symlinked_directory_pointing_outside_is_denied(space, outside):
    (space.root / "linkdir").symlink_to(outside, target_is_directory=True)
    for path in ("linkdir", "linkdir/secret.txt", "linkdir/new.txt"):
        exc = denied(space.resolve, path)
        assert exc.kind == "path_escape", path
        assert "(a symlink)" in exc.reason


def test_symlinked_parent_directory_is_denied_for_new_files(space, outside):
    (space.root / "sub" / "parent").symlink_to(outside, target_is_directory=True)
    for path in ("sub/parent/new.txt", "sub/parent/deeper/new.txt"):
        exc = denied(space.check_write, path)
        assert exc.kind == "path_escape"
        assert "(a symlink)" in exc.reason
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_symlink_inside_the_workspace_resolves_to_its_target(space):
    (space.root / "alias.txt").symlink_to(space.root / "sub" / "b.txt")
    assert space.resolve("alias.txt") == space.root / "sub" / "b.txt"
    assert space.read_text("alias.txt", max_bytes=4096) == "beta\n"


@pytest.mark.parametrize("path", ["a\x00.txt", "sub/\x00", "\x00/etc/passwd"])
def test_nul_bytes_are_denied(space, path):
    for call in (space.resolve, space.check_write, space.check_read):
        exc = denied(call, path)
        assert exc.kind == "path_escape"
        assert "NUL byte" in exc.reason


@pytest.mark.parametrize("path, pattern", [
    (".env", ".env"), ("config/.env", ".env"), (".env.local", ".env.*"),
    ("certs/server.pem", "*.pem"), ("server.pem", "*.pem"), ("deploy.key", "*.key"),
    ("id_rsa", "id_rsa*"), ("home/id_ed25519.pub", "id_ed25519*"), (".netrc", ".netrc"),
    (".npmrc", ".npmrc"), (".pypirc", ".pypirc"),
])
def test_deny_read_patterns(space, path, pattern):
    target = space.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("SECRET=1\n")
    exc = denied(space.read_text, path, max_bytes=4096)
    assert exc.kind == "read_denied"
    assert f"{path!r} matches security.deny_read {pattern!r}" in exc.reason
    assert exc.hint


@pytest.mark.parametrize("path", ["env.txt", "README.md", "pem.txt", "src/environment.py"])
def test_similar_names_are_readable(space, path):
    target = space.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("fine\n")
    assert space.read_text(path, max_bytes=4096) == "fine\n"


def test_symlink_alias_of_a_denied_file_is_denied(space):
    (space.root / ".env").write_text("SECRET=1\n")
    (space.root / "notes.txt").symlink_to(space.root / ".env")
    exc = denied(space.read_text, "notes.txt", max_bytes=4096)
    assert exc.kind == "read_denied"
    assert "'.env'" in exc.reason


@pytest.mark.parametrize("path, pattern", [
    (".git", ".git"), (".git/config", ".git/**"), (".git/hooks/pre-commit", ".git/**"),
    (".localagent/config.yaml", ".localagent/**"),
    (".localagent/backups/x/manifest.json", ".localagent/**"),
])
def test_protected_paths_cannot_be_written(space, path, pattern):
    (space.root / ".git" / "hooks").mkdir(parents=True)
    exc = denied(space.check_write, path)
    assert exc.kind == "protected_path"
    assert f"matches security.protected_paths {pattern!r}" in exc.reason


def test_protected_paths_can_still_be_read(space):
    (space.root / ".git").mkdir()
    (space.root / ".git" / "config").write_text("[core]\n")
    assert space.read_text(".git/config", max_bytes=4096) == "[core]\n"


@pytest.mark.parametrize("path", [".github/workflows/ci.yml", ".gitignore", "src/git/x.py",
                                  "localagent/x.py", "new.txt"])
def test_unprotected_paths_can_be_written(space, path):
    assert space.check_write(path) == space.root / path


def test_workspace_root_and_directories_cannot_be_written(space):
    exc = denied(space.check_write, ".")
    assert (exc.kind, exc.reason) == ("protected_path", "cannot write the workspace root itself")
    exc = denied(space.check_write, "sub")
    assert (exc.kind, exc.reason) == ("protected_path", "'sub' is a directory")


def test_read_text_truncates_large_files_with_a_note(space):
    body = "".join(f"line {i:04d}\n" for i in range(300))  # 3000 bytes
    (space.root / "big.txt").write_text(body)
    text = space.read_text("big.txt", max_bytes=1024)
    assert text.startswith(body[:1024])
    assert body[1024:1100] not in text
    assert text.endswith("\n[truncated: big.txt is 3000 bytes; security.max_file_bytes is 1024]")


def test_read_text_at_the_limit_has_no_note(space):
    (space.root / "exact.txt").write_text("x" * 1024)
    assert space.read_text("exact.txt", max_bytes=1024) == "x" * 1024


def test_policy_read_uses_max_file_bytes(ws, audit):
    (ws / "big.txt").write_text("y" * 5000)
    policy = SecurityPolicy(ws, SecuritySettings(max_file_bytes=2048), audit=audit)
    text = policy.read_text("big.txt")
    assert text.startswith("y" * 2048)
    assert "y" * 2049 not in text
    assert "is 5000 bytes; security.max_file_bytes is 2048]" in text


def test_binary_files_are_denied(space):
    (space.root / "blob.bin").write_bytes(b"\x7fELF\x00\x01\x02" + b"\xff" * 100)
    exc = denied(space.read_text, "blob.bin", max_bytes=4096)
    assert exc.kind == "binary"
    assert exc.reason == "'blob.bin' is a binary file (107 bytes)"


def test_non_utf8_text_is_read_with_replacement(space):
    (space.root / "latin.txt").write_bytes(b"caf\xe9\n")
    assert space.read_text("latin.txt", max_bytes=4096) == "caf\ufffd\n"


def test_missing_files_and_directories_are_not_found(space):
    assert denied(space.read_text, "nope.txt", max_bytes=4096).kind == "not_found"
    exc = denied(space.read_text, "sub", max_bytes=4096)
    assert (exc.kind, exc.reason) == ("not_found", "'sub' is not a file")


def test_iter_files_skips_vcs_dependencies_denied_and_symlinks_out(space, outside):
    root = space.root
    for path in (".git/config", ".git/objects/ab/cd", "node_modules/pkg/index.js",
                 "__pycache__/m.cpython-311.pyc", ".venv/bin/python", ".localagent/backups/m",
                 "sub/node_modules/x.js", "sub/deep/c.py", ".env", "keys/server.pem"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")
    (root / "out-link.txt").symlink_to(outside / "secret.txt")
    (root / "out-dir").symlink_to(outside, target_is_directory=True)
    assert list(space.iter_files()) == ["a.txt", "sub/b.txt", "sub/deep/c.py"]
    assert list(space.iter_files("sub")) == ["sub/b.txt", "sub/deep/c.py"]


def test_iter_files_lists_a_link_inside_by_its_target_and_enters_no_linked_directory(space):
    root = space.root
    (root / "z-link.txt").symlink_to(root / "sub" / "b.txt")
    (root / "dir-link").symlink_to(root / "sub", target_is_directory=True)
    assert list(space.iter_files()) == ["a.txt", "sub/b.txt", "sub/b.txt"]


def test_iter_files_cannot_start_outside(space):
    assert denied(lambda: list(space.iter_files(".."))).kind == "path_escape"


def test_policy_list_files_matches_the_workspace(policy):
    assert list(policy.list_files()) == ["a.txt", "sub/b.txt"]


def test_denials_are_audited(policy, audit):
    (policy.workspace.root / ".env").write_text("K=V\n")
    with pytest.raises(PolicyDenied):
        policy.read_text(".env")
    with pytest.raises(PolicyDenied):
        policy.resolve("../outside/secret.txt")
    first, second = audit.entries()
    assert first["event"] == second["event"] == "policy_denied"
    assert (first["action"], first["kind"], first["target"]) == ("read", "read_denied", ".env")
    assert "matches security.deny_read '.env'" in first["reason"]
    assert (second["action"], second["kind"]) == ("resolve", "path_escape")
    assert second["workspace"] == str(policy.workspace.root)
    assert oct(os.stat(audit.path).st_mode & 0o777) == oct(0o600)


def test_check_message_limit(policy, audit):
    assert policy.check_message("x" * 200_000) == "x" * 200_000
    exc = denied(policy.check_message, "x" * 200_001, what="prompt")
    assert exc.kind == "too_large"
    assert exc.reason == "prompt is 200001 characters; security.max_message_chars is 200000"
    assert audit.entries()[-1]["kind"] == "too_large"

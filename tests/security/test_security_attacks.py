"""Every attack of issue 12, through ``SecurityPolicy.run`` with the sandbox on: refused by
the command policy, or run in the sandbox without effect. After each: nothing written
outside the workspace, nothing under .git changed, no secret in the output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from localagent.config.sections import SecuritySettings
from localagent.security import FileChange, PolicyDenied, SecurityPolicy, writes
from tests.security.test_sandbox import SECRET, digest, git, outside, ws

__all__ = ["outside", "ws"]  # fixtures shared with test_sandbox

PWNED = "/tmp/localagent-pwned-marker"


@pytest.fixture
def policy(ws: Path) -> SecurityPolicy:
    (ws / "b.txt").write_text("beta\n")
    return SecurityPolicy(ws, SecuritySettings(sandbox="auto"))


def attack(policy: SecurityPolicy, command: str) -> tuple[str | None, str]:
    """(denial kind or None, output) of ``command``; asserts the attack left no trace."""
    ws = policy.workspace.root
    git_before = digest(ws / ".git")
    try:
        output, kind = policy.run(command).output, None
    except PolicyDenied as denied:
        output, kind = denied.tool_error(), denied.kind
    assert not Path(PWNED).exists()
    assert digest(ws / ".git") == git_before
    assert SECRET not in output
    return kind, output


@pytest.mark.parametrize("command", [
    f"GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0='touch {PWNED}; "
    "false' git status",
    f"env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0='touch {PWNED}'"
    " git status",
    f"GIT_EXTERNAL_DIFF='touch {PWNED}' git diff",
    "LD_PRELOAD=/tmp/evil.so ls",
    "PYTHONSTARTUP=evil.py python -m pytest -q",
    "timeout 5 env PYTHONWARNINGS=ignore::evil.X pytest",
])
def test_variables_outside_the_allowlist_are_refused(policy, command):
    kind, output = attack(policy, command)
    assert kind == "env_denied", output
    assert "security.allowed_env" in output


def test_allowed_variables_pass(policy):
    assert attack(policy, "CI=1 NO_COLOR=1 env TZ=UTC git log --format=%s") == (None, "init\n")


@pytest.mark.parametrize("command", ["ls -a | xargs cat", "find . | xargs grep KEY",
                                     "xargs cat < a.txt", "echo a.txt | xargs -I{} cat {}"])
def test_xargs_with_unknown_input_is_refused(policy, command):
    kind, output = attack(policy, command)
    assert kind == "command_denied" and "xargs takes its arguments" in output


def test_xargs_fed_literal_words_is_checked_as_the_command_it_makes(policy):
    assert attack(policy, "echo a.txt b.txt | xargs cat") == (None, "alpha\nbeta\n")
    assert attack(policy, "echo .env | xargs cat")[0] == "read_denied"
    assert attack(policy, "echo a.txt | xargs rm")[0] == "command_not_allowed"


@pytest.mark.parametrize("command, kind", [
    ("sort -o .git/config a.txt", "protected_path"),
    ("sort a.txt -o.git/config", "protected_path"),
    ("sort --output=nested/.git/config a.txt", "protected_path"),
    ("uniq a.txt .git/config", "protected_path"),
    ("find . -fprintf .git/config %p", "protected_path"),
    ("find . -fprint /tmp/x", "path_escape"),
    ("git diff --output=.git/hooks/pre-commit", "command_denied"),  # a deny pattern too
    ("git log --output .git/hooks/pre-commit", "command_denied"),
    ("sort --compress-program=sh a.txt", "command_denied"),
    ("sort -T /tmp a.txt", "path_escape"),
    ("pytest --basetemp=.git", "protected_path"),
    ("python -m pytest --basetemp .git", "protected_path"),
    ("pytest -o cache_dir=/abs", "path_escape"),
    ("pytest --override-ini=cache_dir=.git/cache", "protected_path"),
    ("pytest -o addopts=--basetemp=/x", "command_denied"),
    ("pytest --junitxml=/tmp/report.xml", "path_escape"),
    ("git -c core.fsmonitor=evil status", "command_denied"),
    ("rg --pre cat KEY", "command_denied"),
    ("tree -o .git/config", "protected_path"),
])
def test_output_and_exec_options(policy, command, kind):
    assert attack(policy, command)[0] == kind


def test_an_output_option_inside_the_workspace_is_a_normal_write(policy, ws):
    assert attack(policy, "sort -o sorted.txt b.txt a.txt") == (None, "")
    assert (ws / "sorted.txt").read_text() == "alpha\nbeta\n"


@pytest.mark.parametrize("command, kind", [
    ("git show HEAD:.env", "read_denied"),
    ("git show HEAD:./.env", "read_denied"),
    ("git log -p", None),
    ("git show", None),
    ("grep -r KEY .", None),
    ("grep -rn API_KEY", None),
    ("rg API_KEY", None),
    ("grep -R KEY .", "command_denied"),
    ("find -L . -name x", "command_denied"),
    ("ls -L link", "command_denied"),
])
def test_secrets_never_reach_the_output(policy, ws, command, kind):
    (ws / "link").symlink_to("/etc", target_is_directory=True)
    found, output = attack(policy, command)
    assert found == kind, output
    if command == "git log -p":
        assert "API_KEY=[redacted]" in output  # the committed .env is in the history


def test_the_grep_rewrite_keeps_other_matches(policy, ws):
    (ws / "notes.txt").write_text("the API_KEY goes in .env\n")
    assert attack(policy, "grep -r API_KEY .") == (None, "./notes.txt:the API_KEY goes in .env\n")


def test_protected_paths_match_at_any_depth(policy, ws):
    for path in ("nested/.git/hooks/pre-commit", "nested/.git/config", ".git/config",
                 "deep/er/.git", ".localagent/config.yaml", "sub/.localagent/agents/x.md"):
        with pytest.raises(PolicyDenied) as info:
            policy.apply([FileChange(path, "x")], approved=True)
        assert info.value.kind == "protected_path", path


def test_a_directory_swapped_for_a_symlink_after_the_check_is_not_followed(
        policy, ws, outside, monkeypatch):
    (ws / "src").mkdir()
    real_check = policy.workspace.check_write
    calls: list[str] = []

    def swap_after_check(path):
        checked = real_check(path)
        calls.append(str(path))
        # the policy's check, the change set's, then the re-check right before the write:
        if len(calls) == 3:  # it passed, and now the directory is swapped
            shutil.rmtree(ws / "src")
            os.symlink(outside, ws / "src")  # the race the issue describes
        return checked

    monkeypatch.setattr(policy.workspace, "check_write", swap_after_check)
    with pytest.raises(writes.ChangeSetFailed) as info:
        policy.apply([FileChange("src/mod.py", "x = 1\n")], approved=True)
    assert "Too many levels of symbolic links" in str(info.value.cause) or \
        "Not a directory" in str(info.value.cause)
    assert list(outside.iterdir()) == []


def test_project_code_cannot_reach_outside_or_git(policy, ws, outside):
    """What pytest's conftest.py, a Makefile or npm scripts would do: all in the sandbox."""
    (ws / "conftest.py").write_text(
        "import os, pathlib, subprocess\n"
        f"for target in [{PWNED!r}, {str(outside / 'x')!r}, '.git/config',\n"
        "               'nested/.git/hooks/post-checkout', os.path.expanduser('~/.bashrc')]:\n"
        "    try:\n"
        "        pathlib.Path(target).write_text('pwned')\n"
        "    except OSError as exc:\n"
        "        print('blocked', target, type(exc).__name__)\n"
        "try:\n"
        "    print('env file:', open('.env').read())\n"
        "except OSError as exc:\n"
        "    print('blocked .env', type(exc).__name__)\n")
    (ws / "test_x.py").write_text("def test_x():\n    assert True\n")
    (ws / "Makefile").write_text(f"test:\n\ttouch {outside / 'made'} || true\n"
                                 "\techo '[core] fsmonitor = evil' >> .git/config || true\n")
    bashrc = Path.home() / ".bashrc"
    before = bashrc.read_bytes() if bashrc.exists() else None
    kind, output = attack(policy, "python -m pytest -q -s -p no:cacheprovider")
    assert kind is None and "1 passed" in output, output
    assert output.count("blocked") == 5  # all but /tmp, which is the sandbox's own
    assert attack(policy, "make test")[0] is None
    assert list(outside.iterdir()) == []
    assert (bashrc.read_bytes() if bashrc.exists() else None) == before


def test_commands_use_a_real_git(policy, ws):
    """The sandbox leaves git working on the repository (read-only)."""
    git(ws, "status")
    assert attack(policy, "git log --oneline")[1].endswith("init\n")

"""The OS sandbox every command runs in: real bwrap and real Landlock, driven through
``SecurityPolicy.run`` with a probe script that tries what project code could try."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localagent.config.sections import SecuritySettings
from localagent.security import PolicyDenied, SecurityPolicy
from localagent.security.landlock import subtrees_without
from localagent.security.sandbox import Confinement, choose, kept_paths
from localagent.security.seatbelt import profile
from tests.graph_fakes import project_python

SECRET = "sk-test-secret-value-0123456789abcdef"
SANDBOXES = ["bwrap", "landlock"]
PROBE = '''
import os, socket, sys
def attempt(name, action):
    try:
        result = action()
        print(name, "OK", repr(result)[:200])
    except Exception as exc:
        print(name, "FAIL", type(exc).__name__)
'''


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=root, check=True, capture_output=True, text=True).stdout


def secret_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository with ``files`` and a secret in .env committed, and a nested
    repository."""
    root.mkdir()
    for name, text in {**files, ".env": f"API_KEY={SECRET}\n"}.items():
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    (root / "nested").mkdir()
    git(root / "nested", "init", "-q")
    return root


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = secret_repo(tmp_path / "ws", {"a.txt": "alpha\n"})
    project_python(root)  # commands run the project's python, never LocalAgent's own
    return root


@pytest.fixture
def outside() -> Iterator[Path]:
    """A writable directory outside the workspace and outside /tmp (which bwrap replaces)."""
    base = Path.home() / ".cache"
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="localagent-sandbox-test-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def policy(ws: Path, sandbox: str, **settings: object) -> SecurityPolicy:
    return SecurityPolicy(ws, SecuritySettings(sandbox=sandbox, **settings),  # type: ignore[arg-type]
                          extra_commands=["python"])


def probe(ws: Path, sandbox: str, body: str, *args: str, **settings: object) -> dict[str, str]:
    """Run a probe script in the sandbox; {attempt name: "OK ..." or "FAIL ErrorType"}."""
    (ws / "probe.py").write_text(PROBE + body)
    result = policy(ws, sandbox, **settings).run(" ".join(["python probe.py", *args]))
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return dict(line.split(" ", 1) for line in result.output.splitlines() if " " in line)


def digest(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_filesystem(ws: Path, outside: Path, sandbox: str) -> None:
    git_before = digest(ws / ".git")
    (ws / "src").mkdir()
    seen = probe(ws, sandbox, f'''
attempt("read_workspace", lambda: open("a.txt").read())
attempt("write_workspace", lambda: open("src/made.txt", "w").write("x"))
attempt("edit_workspace", lambda: open("a.txt", "a").write("x"))
attempt("new_at_root", lambda: open("made.txt", "w").write("x"))
attempt("write_outside", lambda: open({str(outside / "x")!r}, "w").write("x"))
attempt("write_git", lambda: open(".git/config", "a").write("[core]\\n"))
attempt("hook", lambda: open(".git/hooks/pre-commit", "w").write("x"))
attempt("nested_hook", lambda: open("nested/.git/hooks/pre-commit", "w").write("x"))
attempt("read_env", lambda: open(".env").read())
attempt("read_system", lambda: open("/etc/hostname").read() is not None)
attempt("tmp", lambda: open(os.path.join(os.environ["TMPDIR"], "t"), "w").write("x"))
''')
    assert seen["write_workspace"].startswith("OK") and (ws / "src" / "made.txt").exists()
    assert seen["edit_workspace"].startswith("OK")
    # Landlock grants by subtree: a directory holding .git gets no right to create files
    assert seen["new_at_root"].startswith("OK" if sandbox == "bwrap" else "FAIL")
    assert seen["read_workspace"] == "OK 'alpha\\n'"
    assert seen["read_system"] == "OK True"
    for name in ("write_outside", "write_git", "hook", "nested_hook", "read_env"):
        assert seen[name].startswith("FAIL"), name
    assert seen["tmp"].startswith("OK")
    assert list(outside.iterdir()) == []
    assert digest(ws / ".git") == git_before
    assert not (ws / "nested" / ".git" / "hooks" / "pre-commit").exists()


def test_bwrap_has_a_private_tmp_and_pid_namespace(ws: Path) -> None:
    marker = Path("/tmp") / f"localagent-sandbox-marker-{os.getpid()}"
    seen = probe(ws, "bwrap", f'''
attempt("tmp", lambda: open({str(marker)!r}, "w").write("x"))
attempt("pid", lambda: os.getpid())
attempt("processes", lambda: len([p for p in os.listdir("/proc") if p.isdigit()]))
attempt("run", lambda: os.listdir("/run"))
''')
    assert seen["tmp"].startswith("OK") and not marker.exists()
    assert int(seen["pid"].split()[1]) < 10
    assert int(seen["processes"].split()[1]) < 5
    assert seen["run"] == "OK []"  # no host sockets (docker, D-Bus, databases)


def test_landlock_denies_tmp_outside_its_private_dir(ws: Path) -> None:
    seen = probe(ws, "landlock", '''
attempt("tmp", lambda: open("/tmp/localagent-landlock-marker", "w").write("x"))
attempt("tmpdir", lambda: os.environ["TMPDIR"])
''')
    assert seen["tmp"] == "FAIL PermissionError"
    tmpdir = seen["tmpdir"].split()[1].strip("'")
    assert "localagent-sandbox-" in tmpdir and not Path(tmpdir).exists()  # removed after


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_network_is_denied_unless_allowed(ws: Path, sandbox: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    body = 'attempt("connect", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[1])),' \
           ' timeout=3).close())\n'
    try:
        denied = probe(ws, sandbox, body, str(port))
        with pytest.raises(TimeoutError):
            server.accept()  # nothing reached the server
        allowed = probe(ws, sandbox, body, str(port), allow_network=True)
        server.accept()[0].close()
    finally:
        server.close()
    assert denied["connect"].startswith("FAIL")
    assert allowed["connect"] == "OK None"


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_environment_is_minimal(ws: Path, sandbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/prod")
    monkeypatch.setenv("SOME_SETTING", "x")
    seen = probe(ws, sandbox, 'attempt("env", lambda: sorted(os.environ))\n')
    names = eval(seen["env"][3:])  # the repr of a list of names
    assert {"PATH", "HOME", "TMPDIR"} <= set(names)
    assert not {"DATABASE_URL", "SOME_SETTING", "LOCALAGENT_DATA_DIR"} & set(names)


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_timeout_kills_the_whole_process_tree(ws: Path, sandbox: str) -> None:
    (ws / "src").mkdir()  # Landlock: not at the root, next to .git
    (ws / "spawn.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True:\\n"
        "    open(\"src/beat\", \"a\").write(\"x\")\\n    time.sleep(0.05)'])\n"
        "time.sleep(60)\n")
    result = policy(ws, sandbox).run("python spawn.py", timeout=1.5)
    assert (result.timed_out, result.exit_code) == (True, 124)
    time.sleep(0.3)
    size = (ws / "src" / "beat").stat().st_size
    time.sleep(0.5)
    assert (ws / "src" / "beat").stat().st_size == size  # the grandchild died too


def test_virtualenv_under_tmp_stays_usable(ws: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    tool = venv / "bin" / "venv-probe"
    tool.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nprint(sys.prefix)\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    assert venv in kept_paths(os.environ, [Path("/tmp")])
    for sandbox in SANDBOXES:
        result = SecurityPolicy(ws, SecuritySettings(sandbox=sandbox),  # type: ignore[arg-type]
                                extra_commands=["venv-probe"]).run("venv-probe")
        assert (result.exit_code, result.output) == (0, f"{venv}\n"), sandbox


def test_a_protected_path_created_by_a_command_is_removed(ws: Path) -> None:
    shutil.rmtree(ws / "nested")
    seen = probe(ws, "bwrap", '''
os.makedirs(".localagent/agents", exist_ok=True)
attempt("plant", lambda: open(".localagent/config.yaml", "w").write("security: {sandbox: off}"))
''')
    assert seen["plant"].startswith("OK")
    assert not (ws / ".localagent").exists()
    result = policy(ws, "bwrap").run("python probe.py")
    assert "[removed .localagent: protected paths the command created]" in result.output


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_secret_symlinked_from_outside_is_hidden_where_it_is(ws: Path, outside: Path,
                                                               sandbox: str) -> None:
    (outside / "prod.env").write_text(f"TOKEN={SECRET}\n")
    (ws / "prod.env").symlink_to(outside / "prod.env")
    (ws / ".env").unlink()
    (ws / ".env").symlink_to(outside / "prod.env")
    seen = probe(ws, sandbox, f'''
attempt("link", lambda: open(".env").read())
attempt("target", lambda: open({str(outside / "prod.env")!r}).read())
''')
    assert seen["link"].startswith("FAIL") and seen["target"].startswith("FAIL")


def test_a_protected_symlink_a_command_creates_is_unlinked_not_followed(
        ws: Path, outside: Path) -> None:
    (outside / "keep.txt").write_text("keep")
    probe(ws, "bwrap", f"os.symlink({str(outside)!r}, '.localagent')\n")
    assert not (ws / ".localagent").is_symlink()
    assert (outside / "keep.txt").read_text() == "keep"


def test_without_a_sandbox_project_code_needs_approval(ws: Path) -> None:
    off = policy(ws, "off")
    (ws / "probe.py").write_text("print('ran')\n")
    with pytest.raises(PolicyDenied) as info:
        off.run("python probe.py")
    assert info.value.kind == "needs_approval"
    assert info.value.reason == ("'python probe.py' runs project code and no OS sandbox is in "
                                 "use (security.sandbox is off): it needs the user's approval "
                                 "each time")
    assert "'localagent health' says how to get a sandbox" in info.value.hint
    assert off.needs_approval("python -m pytest -q").startswith("'python -m pytest -q' runs code")
    assert off.needs_approval("git status") is None  # inert tools run as they are
    assert off.run("python probe.py", approved=True).output == "ran\n"
    assert policy(ws, "bwrap").needs_approval("python probe.py") is None


def test_a_named_sandbox_that_is_missing_is_an_error(ws: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PolicyDenied) as info:
        SecurityPolicy(ws, SecuritySettings(sandbox="bwrap")).run("ls")
    assert info.value.kind == "sandbox_unavailable"
    assert "bwrap is not installed" in info.value.reason
    assert choose("auto")[0].name == "landlock"  # type: ignore[union-attr]


def test_landlock_subtrees_skip_excluded_paths(tmp_path: Path) -> None:
    for name in ("a/b/secret", "a/b/ok", "a/c", "d"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "a" / "link").symlink_to(tmp_path / "d")
    found = set(subtrees_without(tmp_path, [tmp_path / "a" / "b" / "secret"]))
    assert found == {tmp_path / "a" / "b" / "ok", tmp_path / "a" / "c", tmp_path / "d"}
    assert list(subtrees_without(tmp_path, [])) == [tmp_path]


def test_seatbelt_profile(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".env").write_text("x")
    confinement = Confinement(ws, read_only=[ws / ".git"],
                              hidden=[ws / ".env", tmp_path / "keys"],
                              protected_patterns=(".git", ".localagent/**"),
                              hidden_patterns=("*.pem",))
    text = profile(confinement, tmp_path / "t")
    lines = text.splitlines()
    assert lines[:4] == ["(version 1)", "(allow default)", "(deny network*)",
                         "(deny file-write*)"]
    assert f'(allow file-write* (subpath "{ws}") (subpath "{tmp_path / "t"}")' in text
    assert f'(deny file-write* (subpath "{ws / ".git"}")' in text
    assert '/(.*/)?\\.git(/.*)?$")' in text and '/(.*/)?\\.localagent(/.*)?$")' in text
    assert "pytest-of" in text and "\\\\" not in text  # regex literals are raw
    assert f'(deny file-read* (literal "{tmp_path / "keys"}"))' in text
    assert f'(literal "{ws / ".env"}")' in lines[-1] and "[^/]*\\.pem" in lines[-1]
    allowed = profile(Confinement(ws, allow_network=True), tmp_path)
    assert "network" not in allowed

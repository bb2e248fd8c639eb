"""OS sandboxes for the commands agents cause: bubblewrap, Landlock, macOS sandbox-exec.

A ``Sandbox`` opens a ``Session`` for one command line (what may be touched is found right
before it runs); the session turns each process of the line into a ``Launch``: the argv,
environment and ``preexec_fn`` the runner starts it with."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from localagent.security.seatbelt import profile

SANDBOXES = ("bwrap", "landlock", "sandbox-exec")
# Variables a sandboxed command still gets (besides security.allowed_env and LC_*).
PASS_ENV = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "TERM", "TZ", "VIRTUAL_ENV", "GOPATH",
    "GOROOT", "GOMODCACHE", "GOFLAGS", "CARGO_HOME", "RUSTUP_HOME", "JAVA_HOME", "NODE_PATH",
    "NVM_DIR", "PYENV_ROOT", "SSL_CERT_FILE", "SSL_CERT_DIR",
})
PROXY_ENV = frozenset({"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                       "NO_PROXY", "ALL_PROXY", "all_proxy"})
# bwrap replaces these with empty ones; interpreters and venvs inside are bound back
MASKED_ROOTS = (Path("/tmp"), Path("/var/tmp"), Path("/run"), Path("/dev/shm"))
INSTALL_HINT = ("install bubblewrap: 'apt-get install bubblewrap' (Debian, Ubuntu), "
                "'dnf install bubblewrap' (Fedora), 'pacman -S bubblewrap' (Arch)")


class SandboxUnavailable(RuntimeError):
    """The configured sandbox cannot run here."""


@dataclass
class Confinement:
    """What one command line may touch. Paths are real paths."""

    workspace: Path
    read_only: list[Path] = field(default_factory=list)   # protected paths that exist
    hidden: list[Path] = field(default_factory=list)      # deny_read + sandbox_hide
    allow_network: bool = False
    pass_env: frozenset[str] = frozenset()
    protected_patterns: tuple[str, ...] = ()  # for sandboxes that can match patterns
    hidden_patterns: tuple[str, ...] = ()


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    preexec_fn: Callable[[], None] | None = None


Session = Callable[[list[str], dict[str, str]], Launch]


def minimal_env(env: Mapping[str, str], confinement: Confinement) -> dict[str, str]:
    """The environment inside: a fixed set of names, the allowed ones, locale variables."""
    keep = PASS_ENV | confinement.pass_env | (PROXY_ENV if confinement.allow_network
                                              else frozenset())
    return {k: v for k, v in env.items() if k in keep or k.startswith("LC_")}


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def kept_paths(env: Mapping[str, str], masked: Sequence[Path]) -> list[Path]:
    """Interpreter and virtualenv directories on PATH (or ``$VIRTUAL_ENV``) that live under
    a masked directory such as /tmp: they are bound back, read-only."""
    kept: list[Path] = []
    entries = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if env.get("VIRTUAL_ENV"):
        entries.append(str(Path(env["VIRTUAL_ENV"]) / "bin"))
    for entry in entries:
        directory = Path(os.path.realpath(entry))
        if not directory.is_dir() or not _under(directory, masked):
            continue
        venv = directory.parent
        config = venv / "pyvenv.cfg"
        if config.is_file():
            kept.append(venv)
            for line in config.read_text(errors="replace").splitlines():
                key, _, value = line.partition("=")
                base = Path(os.path.realpath(value.strip())).parent
                if key.strip() == "home" and _under(base, masked):
                    kept.append(base)
        else:
            kept.append(directory)
    return sorted(set(kept))


class Sandbox:
    name = "none"

    def available(self) -> str | None:
        """``None`` when usable here, else why not."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    @contextlib.contextmanager
    def session(self, confinement: Confinement) -> Iterator[Session]:
        raise NotImplementedError
        yield  # pragma: no cover


class Bubblewrap(Sandbox):
    """The whole filesystem read-only, the workspace writable with its protected paths
    read-only and hidden files masked, private /tmp and /run, a new PID (and network)
    namespace, no capabilities; the sandbox dies with its parent."""

    name = "bwrap"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("bwrap") or "bwrap"

    def available(self) -> str | None:
        return _probe_bwrap(self.executable)

    def describe(self) -> str:
        return f"bwrap ({self.executable})"

    def arguments(self, confinement: Confinement, env: Mapping[str, str]) -> list[str]:
        args = [self.executable, "--die-with-parent", "--new-session", "--unshare-pid",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        if not confinement.allow_network:
            args.append("--unshare-net")
        for root in MASKED_ROOTS[:3]:  # --dev made a fresh /dev/shm already
            if root.is_dir() and not root.is_symlink():
                args += [*(["--perms", "1777"] if "tmp" in root.name else []),
                         "--tmpfs", str(root)]
        resolver = Path("/run/systemd/resolve")
        if confinement.allow_network and resolver.is_dir():
            args += ["--ro-bind", str(resolver), str(resolver)]
        args += _masks([h for h in confinement.hidden  # those under /tmp are gone already
                        if not _under(h, [confinement.workspace, *MASKED_ROOTS])])
        masked = [*MASKED_ROOTS, *confinement.hidden]
        for kept in kept_paths(env, masked):
            args += ["--ro-bind", str(kept), str(kept)]
        workspace = str(confinement.workspace)
        args += ["--bind", workspace, workspace]
        for path in confinement.read_only:
            args += ["--ro-bind", str(path), str(path)]
        args += _masks([h for h in confinement.hidden if h.is_relative_to(confinement.workspace)])
        return [*args, "--chdir", workspace, "--"]

    @contextlib.contextmanager
    def session(self, confinement: Confinement) -> Iterator[Session]:
        def launch(argv: list[str], env: dict[str, str]) -> Launch:
            inner = {**minimal_env(env, confinement), "TMPDIR": "/tmp",
                     "XDG_CACHE_HOME": "/tmp/.cache"}
            return Launch([*self.arguments(confinement, inner), *argv], inner)

        yield launch


def _masks(paths: list[Path]) -> list[str]:
    args: list[str] = []
    for path in paths:
        if path.is_dir():
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        elif path.exists():
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


@functools.cache
def _probe_bwrap(executable: str) -> str | None:
    if not Path(executable).is_file() and shutil.which(executable) is None:
        return f"bwrap is not installed; {INSTALL_HINT}"
    true = shutil.which("true") or "/bin/true"
    try:
        done = subprocess.run(
            [executable, "--die-with-parent", "--unshare-pid", "--unshare-net", "--cap-drop",
             "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", true],
            capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start: {exc}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return (f"bwrap cannot create namespaces here: {reason[-1] if reason else 'failed'} "
                "(unprivileged user namespaces may be disabled)")
    return None


class Landlock(Sandbox):
    """Writes only to the workspace (not its protected paths) and a private temp directory,
    hidden files unreadable, no TCP (ABI 4+); no PID namespace and no private /tmp."""

    name = "landlock"

    def available(self) -> str | None:
        from localagent.security.landlock import abi_version

        return None if abi_version() >= 1 else "Landlock is not available in this kernel"

    def describe(self) -> str:
        from localagent.security.landlock import abi_version

        return f"landlock (ABI {abi_version()})"

    @contextlib.contextmanager
    def session(self, confinement: Confinement) -> Iterator[Session]:
        from localagent.security import landlock

        temp = Path(tempfile.mkdtemp(prefix="localagent-sandbox-"))
        ruleset = landlock.build(confinement.workspace, read_only=confinement.read_only,
                                 hidden=confinement.hidden, temp=temp,
                                 allow_network=confinement.allow_network)
        restrict = ruleset.restrictor()

        def launch(argv: list[str], env: dict[str, str]) -> Launch:
            inner = {**minimal_env(env, confinement), "TMPDIR": str(temp),
                     "XDG_CACHE_HOME": str(temp / ".cache")}
            return Launch(argv, inner, restrict)

        try:
            yield launch
        finally:
            ruleset.close()
            shutil.rmtree(temp, ignore_errors=True)


class SandboxExec(Sandbox):
    """macOS: ``sandbox-exec`` with a profile built for the command line (see seatbelt.py)."""

    name = "sandbox-exec"

    def available(self) -> str | None:
        if sys.platform != "darwin" or shutil.which("sandbox-exec") is None:
            return "sandbox-exec exists on macOS only"
        return None

    @contextlib.contextmanager
    def session(self, confinement: Confinement) -> Iterator[Session]:
        temp = Path(os.path.realpath(tempfile.mkdtemp(prefix="localagent-sandbox-")))
        text = profile(confinement, temp)

        def launch(argv: list[str], env: dict[str, str]) -> Launch:
            inner = {**minimal_env(env, confinement), "TMPDIR": str(temp)}
            return Launch(["sandbox-exec", "-p", text, *argv], inner)

        try:
            yield launch
        finally:
            shutil.rmtree(temp, ignore_errors=True)


def make(name: str) -> Sandbox:
    return {"bwrap": Bubblewrap, "landlock": Landlock, "sandbox-exec": SandboxExec}[name]()


def choose(setting: str) -> tuple[Sandbox | None, str]:
    """The sandbox for ``security.sandbox`` and a sentence saying why; ``None`` for off or
    when ``auto`` finds nothing. A named sandbox that cannot run raises."""
    if setting == "off":
        return None, "security.sandbox is off"
    if setting != "auto":
        sandbox = make(setting)
        problem = sandbox.available()
        if problem:
            raise SandboxUnavailable(f"security.sandbox is {setting}, but {problem}")
        return sandbox, f"security.sandbox: {setting}"
    order = ["sandbox-exec"] if sys.platform == "darwin" else ["bwrap", "landlock"]
    problems: list[str] = []
    for name in order:
        sandbox = make(name)
        problem = sandbox.available()
        if problem is None:
            return sandbox, "first available" + (f" ({'; '.join(problems)})" if problems
                                                 else "")
        problems.append(problem)
    return None, "; ".join(problems) or "no sandbox for this platform"

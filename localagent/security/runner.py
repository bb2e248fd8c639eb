"""Run a checked command line without a shell: pipes, ``&&``/``||``/``;``, a deadline for
the whole line, and output capped to its head and tail."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localagent.redact import scrub
from localagent.security.sandbox import Launch, Session
from localagent.security.shellparse import CommandLine, SimpleCommand

SECRET_ENV = re.compile(r"(API_KEY|_TOKEN|PASSWORD|CREDENTIALS?|ACCESS_KEY|PRIVATE_KEY)$"
                        r"|SECRET|^LOCALAGENT_", re.I)


def command_env(extra: Mapping[str, str] | None = None,
                path_first: list[str] | None = None) -> dict[str, str]:
    """The environment commands get: ours, minus anything that looks like a secret, with
    ``path_first`` directories (a project's virtualenv) ahead on PATH."""
    env = {k: v for k, v in os.environ.items() if not SECRET_ENV.search(k)}
    if path_first:
        env["PATH"] = os.pathsep.join([*path_first, env.get("PATH", os.defpath)])
    env.update(extra or {})
    return env


class CappedOutput:
    """Keeps the first ``head`` and the last ``tail`` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 5
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.total += len(data)
            room = self.head_limit - len(self.head)
            if room > 0:
                self.head += data[:room]
                data = data[room:]
            self.tail += data
            if len(self.tail) > self.tail_limit:
                del self.tail[:len(self.tail) - self.tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        head = self.head.decode(errors="replace")
        tail = self.tail.decode(errors="replace")
        if self.truncated:
            dropped = self.total - len(self.head) - len(self.tail)
            return f"{head}\n[... {dropped} bytes of output cut ...]\n{tail}"
        return head + tail


@dataclass
class CommandResult:
    command: str
    exit_code: int
    output: str
    duration: float
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _pump(stream: IO[bytes], sink: CappedOutput) -> None:
    for chunk in iter(lambda: stream.read(8192), b""):
        sink.write(chunk)
    stream.close()


def _argv(simple: SimpleCommand, cwd: Path) -> list[str]:
    argv: list[str] = []
    for word, is_glob in zip(simple.argv, simple.globs, strict=True):
        matches = sorted(glob.glob(word, root_dir=cwd)) if is_glob else []
        argv.extend(matches or [word])
    return argv


def _read_into(stream: IO[bytes] | None, sink: CappedOutput,
               readers: list[threading.Thread]) -> None:
    if stream is not None:
        reader = threading.Thread(target=_pump, args=(stream, sink), daemon=True)
        reader.start()
        readers.append(reader)


def _spawn(simple: SimpleCommand, stdin: Any, cwd: Path, env: dict[str, str],
           sink: CappedOutput, last: bool, readers: list[threading.Thread],
           session: Session | None) -> subprocess.Popen[bytes]:
    argv = _argv(simple, cwd)
    program = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
    if program is None:
        raise FileNotFoundError(f"{argv[0]}: command not found")
    stdout: Any = subprocess.PIPE
    stderr: Any = subprocess.PIPE
    opened: IO[bytes] | None = None
    for redirect in simple.redirects:
        if redirect.op == "<":
            stdin = opened = open(cwd / redirect.target, "rb")  # noqa: SIM115 - closed below
        elif redirect.target == "/dev/null":
            if redirect.fd in (None, 1) or redirect.op == "&>":
                stdout = subprocess.DEVNULL
            if redirect.fd == 2 or redirect.op == "&>":
                stderr = subprocess.DEVNULL
        elif (redirect.fd, redirect.target) == (2, "1"):
            stderr = subprocess.STDOUT
    if not last and stdout is subprocess.PIPE and stderr is subprocess.STDOUT:
        stderr = subprocess.PIPE  # stderr of a middle stage goes to the output, not the pipe
    launch = (session or _direct)([program, *argv[1:]], {**env, **simple.assignments})
    try:
        process = subprocess.Popen(launch.argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                   cwd=cwd, env=launch.env, preexec_fn=launch.preexec_fn,
                                   start_new_session=True)
    finally:
        if opened is not None:
            opened.close()  # the child has its own descriptor
    _read_into(process.stderr, sink, readers)
    if last:
        _read_into(process.stdout, sink, readers)
    return process


def _kill(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()


def _direct(argv: list[str], env: dict[str, str]) -> Launch:
    return Launch(argv, env)


def run_command_line(line: CommandLine, command: str, *, cwd: Path, env: dict[str, str],
                     timeout: float, max_output: int,
                     session: Session | None = None) -> CommandResult:
    """Run a command line the policy has checked; the timeout covers the whole line. With a
    sandbox ``session``, every process of the line starts inside the sandbox."""
    sink = CappedOutput(max_output)
    started = time.monotonic()
    deadline = started + timeout
    status, timed_out = 0, False
    for index, pipeline in enumerate(line.pipelines):
        connector = line.connectors[index - 1] if index else ";"
        if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
            continue
        processes: list[subprocess.Popen[bytes]] = []
        readers: list[threading.Thread] = []
        stdin: Any = subprocess.DEVNULL
        try:
            for position, simple in enumerate(pipeline):
                last = position == len(pipeline) - 1
                process = _spawn(simple, stdin, cwd, env, sink, last, readers, session)
                if stdin not in (subprocess.DEVNULL, None) and hasattr(stdin, "close"):
                    stdin.close()  # the child holds its own copy of the pipe
                processes.append(process)
                stdin = process.stdout
        except (FileNotFoundError, PermissionError, subprocess.SubprocessError) as exc:
            _kill(processes)
            sink.write(f"{exc}\n".encode())
            status = 127
            continue
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(processes)
                process.wait()
        for reader in readers:
            reader.join(timeout=1.0)
        status = processes[-1].returncode if processes else 127
        if timed_out:
            sink.write(f"\n[timed out after {timeout:g}s]\n".encode())
            status = 124
            break
    return CommandResult(command, status, scrub(sink.text()), time.monotonic() - started,
                         timed_out=timed_out, truncated=sink.truncated)

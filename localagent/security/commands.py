"""Which commands an agent may run: allowlist, deny patterns, and structural checks."""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from localagent.security.denied import PolicyDenied
from localagent.security.paths import Workspace
from localagent.security.shellparse import CommandLine, ParseError, SimpleCommand, parse

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "busybox"})
ESCALATION = frozenset({"sudo", "su", "doas", "pkexec", "runuser"})
EVALUATORS = frozenset({"eval", "exec", "source", ".", "command", "builtin"})
DOWNLOADERS = frozenset({"curl", "wget"})
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php"}
SAFE_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
# Wrappers run the command after their own options; value = options that take an argument.
WRAPPERS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "xargs": frozenset({"-n", "-I", "-d", "-L", "-P", "-s", "-E", "-a"}),
}
_SAFE_REDIRECTS = {(2, ">&", "1"), (1, ">&", "2"), (None, ">&", "2")}


def _executable(argv: Sequence[str]) -> str:
    return Path(argv[0]).name if "/" not in argv[0] else argv[0]


def unwrap(argv: list[str]) -> list[str]:
    """The command a wrapper (``env``, ``timeout``, ``xargs``, ...) would run, recursively."""
    while argv and Path(argv[0]).name in WRAPPERS:
        takes_value = WRAPPERS[Path(argv[0]).name]
        i, positional_first = 1, Path(argv[0]).name == "timeout"
        while i < len(argv):
            arg = argv[i]
            if arg in takes_value:
                i += 2
            elif arg.startswith("-") or (Path(argv[0]).name == "env" and "=" in arg):
                i += 1
            elif positional_first:  # timeout DURATION COMMAND
                positional_first = False
                i += 1
            else:
                break
        argv = argv[i:]
    return argv


class CommandPolicy:
    """Checks a command line; every simple command in it must pass."""

    def __init__(self, workspace: Workspace, *, allowed: Sequence[str], denied: Sequence[str],
                 enabled: bool = True) -> None:
        self.workspace = workspace
        self.enabled = enabled
        self.allowed = [shlex.split(entry) for entry in allowed if entry.strip()]
        self.denied = [(pattern, re.compile(pattern)) for pattern in denied]

    def check(self, command: str, env: Mapping[str, str] | None = None) -> CommandLine:
        """The parsed command line, or ``PolicyDenied`` naming the first thing refused."""
        if not self.enabled:
            raise PolicyDenied("commands_disabled", "running commands is turned off "
                               "(security.allow_command_execution: false)", target=command)
        if "\x00" in command:
            raise PolicyDenied("command_syntax", f"{command!r} contains a NUL byte",
                               target=command)
        try:
            line = parse(command, env)
        except ParseError as exc:
            raise PolicyDenied("command_syntax", f"cannot parse {command!r}: {exc}",
                               target=command) from exc
        self._deny_patterns(command, command)
        for inner in line.substitutions:  # the hidden command is checked first: its reason
            self.check(inner, env)        # is more useful than "substitution unsupported"
        for pipeline in line.pipelines:
            self._check_pipeline(pipeline, command)
            for simple in pipeline:
                self._check_simple(simple, command)
        if line.substitutions:
            raise PolicyDenied("command_substitution",
                               f"{command!r} uses command substitution, which needs a shell",
                               target=command,
                               hint="run the inner command on its own and use its output")
        if line.subshell:
            raise PolicyDenied("subshell", f"{command!r} uses a subshell '( ... )'",
                               target=command, hint="run the commands one after another")
        if line.background:
            raise PolicyDenied("background", f"{command!r} starts a background job '&'",
                               target=command, hint="run it in the foreground")
        return line

    def _deny_patterns(self, text: str, command: str) -> None:
        for pattern, regex in self.denied:
            if regex.search(text):
                raise PolicyDenied("command_denied",
                                   f"{text!r} matches deny pattern {pattern!r}", target=command)

    def _check_simple(self, simple: SimpleCommand, command: str) -> None:
        for redirect in simple.redirects:
            self._check_redirect(redirect.fd, redirect.op, redirect.target, command)
        if not simple.argv:
            raise PolicyDenied("command_not_allowed", f"{command!r} only assigns variables",
                               target=command)
        argv = unwrap(simple.argv)
        if not argv:
            raise PolicyDenied("command_not_allowed",
                               f"{simple.text()!r} wraps no command", target=command)
        self._deny_patterns(" ".join(argv), command)
        name = Path(argv[0]).name
        if name in ESCALATION:
            raise PolicyDenied("command_denied", f"{name!r} escalates privileges",
                               target=command)
        if name in SHELLS or name in EVALUATORS:
            raise PolicyDenied("command_denied", f"{name!r} would run arbitrary shell code",
                               target=command, hint="run the commands directly")
        for arg, is_glob in zip(simple.argv[1:], simple.globs[1:], strict=True):
            self._check_argument(arg, command)
            if is_glob:  # the runner expands it in the workspace: check what it would name
                for match in glob.glob(arg, root_dir=self.workspace.root):
                    self._check_argument(match, command)
        if not any(self._matches(entry, argv) for entry in self.allowed):
            raise PolicyDenied(
                "command_not_allowed", f"{' '.join(argv)!r} is not in security.allowed_commands",
                target=command, hint="use an allowed command or ask the user to allow it")

    def _matches(self, entry: list[str], argv: list[str]) -> bool:
        if len(argv) < len(entry):
            return False
        if _executable(argv) != entry[0] and not fnmatch.fnmatchcase(_executable(argv), entry[0]):
            return False
        return all(fnmatch.fnmatchcase(arg, pat)
                   for arg, pat in zip(argv[1:], entry[1:], strict=False))

    def _check_argument(self, arg: str, command: str) -> None:
        """An argument naming a path (absolute, with ``..``, or existing in the workspace,
        possibly a symlink) must be readable under the workspace rules."""
        values = [arg]
        if arg.startswith("-") and "=" in arg:
            values.append(arg.split("=", 1)[1])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            values.append(arg[2:])  # a short option's attached value: -o/tmp/x
        for value in values:
            if value in SAFE_DEVICES:
                continue
            if value.startswith("~"):
                try:
                    value = str(Path(value).expanduser())
                except RuntimeError as exc:
                    raise PolicyDenied("path_escape", f"{value!r} is outside the workspace",
                                       target=command) from exc
            if (value.startswith("/") or ".." in Path(value).parts
                    or os.path.lexists(self.workspace.root / value)):
                self.workspace.check_read(value)

    def _check_redirect(self, fd: int | None, op: str, target: str, command: str) -> None:
        if (fd, op, target) in _SAFE_REDIRECTS or (op in (">", ">>", "&>")
                                                    and target in SAFE_DEVICES):
            return
        if op == "<":
            self.workspace.check_read(target)
            return
        if op in ("<<", "<<<"):
            raise PolicyDenied("redirect", f"here-documents ('{op}') are not supported",
                               target=command, hint="pass the text as a file argument")
        raise PolicyDenied("redirect", f"'{op} {target}' writes to a file from a command",
                           target=command, hint="propose file changes with propose_edit")

    def _check_pipeline(self, pipeline: list[SimpleCommand], command: str) -> None:
        names = [Path(unwrap(s.argv)[0]).name if unwrap(s.argv) else "" for s in pipeline]
        for left, right in itertools.pairwise(names):
            if left in DOWNLOADERS and right in INTERPRETERS:
                raise PolicyDenied("command_denied",
                                   f"piping a download ({left}) into {right} runs remote code",
                                   target=command)

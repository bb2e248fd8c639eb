"""Which commands an agent may run: allowlist, deny patterns, and structural checks."""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from localagent.security.argspec import classified, runs_project_code
from localagent.security.denied import PolicyDenied
from localagent.security.paths import Workspace, matches
from localagent.security.shellparse import (
    ASSIGNMENT,
    CommandLine,
    ParseError,
    SimpleCommand,
    parse,
)

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
XARGS_PLAIN = frozenset({"-r", "--no-run-if-empty", "-t", "--verbose"})
# pytest ini settings (-o key=value) whose value is a path pytest writes
PYTEST_PATH_SETTINGS = frozenset({"cache_dir", "log_file"})


def _executable(argv: Sequence[str]) -> str:
    return Path(argv[0]).name if "/" not in argv[0] else argv[0]


def split_wrapper(argv: list[str]) -> tuple[list[str], list[str]]:
    """A wrapper's own words (name, options, ``env``'s assignments) and the command it runs."""
    name = Path(argv[0]).name
    takes_value = WRAPPERS[name]
    i, positional_first = 1, name == "timeout"
    while i < len(argv):
        arg = argv[i]
        if arg in takes_value:
            i += 2
        elif arg.startswith("-") or (name == "env" and ASSIGNMENT.match(arg)):
            i += 1
        elif positional_first:  # timeout DURATION COMMAND
            positional_first = False
            i += 1
        else:
            break
    return argv[:i], argv[i:]


def wrappers(argv: list[str]) -> tuple[list[list[str]], list[str]]:
    """The wrappers around a command (``env``, ``timeout``, ``xargs``, ...), outermost
    first, and the command they would run."""
    layers: list[list[str]] = []
    while argv and Path(argv[0]).name in WRAPPERS:
        own, argv = split_wrapper(argv)
        layers.append(own)
    return layers, argv


def unwrap(argv: list[str]) -> list[str]:
    """The command a wrapper (``env``, ``timeout``, ``xargs``, ...) would run, recursively."""
    return wrappers(argv)[1]


class CommandPolicy:
    """Checks a command line; every simple command in it must pass."""

    def __init__(self, workspace: Workspace, *, allowed: Sequence[str], denied: Sequence[str],
                 enabled: bool = True, allowed_env: Sequence[str] = ()) -> None:
        self.workspace = workspace
        self.enabled = enabled
        self.allowed = [shlex.split(entry) for entry in allowed if entry.strip()]
        self.denied = [(pattern, re.compile(pattern)) for pattern in denied]
        self.allowed_env = frozenset(allowed_env)

    def check(self, command: str, env: Mapping[str, str] | None = None) -> CommandLine:
        """The parsed command line, or ``PolicyDenied`` naming the first thing refused.

        The line returned may differ from the one given where the policy narrows what a
        tool sees (a recursive ``grep`` skips the ``deny_read`` files)."""
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
            for index, simple in enumerate(pipeline):
                self._check_xargs(simple, pipeline[index - 1] if index else None, command)
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

    def project_code(self, line: CommandLine, env: Mapping[str, str]) -> str | None:
        """The first command of a checked line that may run project code, else ``None``."""
        for simple in line.commands():
            argv = unwrap(simple.argv)
            program = shutil.which(argv[0], path=env.get("PATH")) if "/" not in argv[0] \
                else str(self.workspace.root / argv[0])
            if runs_project_code(argv, program, self.workspace.root):
                return " ".join(argv)
        return None

    def _deny_patterns(self, text: str, command: str) -> None:
        for pattern, regex in self.denied:
            if regex.search(text):
                raise PolicyDenied("command_denied",
                                   f"{text!r} matches deny pattern {pattern!r}", target=command)

    def _check_env(self, names: Sequence[str], command: str) -> None:
        for name in names:
            if name not in self.allowed_env:
                raise PolicyDenied(
                    "env_denied", f"{command!r} sets {name}, which is not in "
                    "security.allowed_env", target=command,
                    hint="variables can make a tool run other code; run the command without it")

    def _check_simple(self, simple: SimpleCommand, command: str) -> None:
        for redirect in simple.redirects:
            self._check_redirect(redirect.fd, redirect.op, redirect.target, command)
        if not simple.argv:
            raise PolicyDenied("command_not_allowed", f"{command!r} only assigns variables",
                               target=command)
        self._check_env(list(simple.assignments), command)
        layers, argv = wrappers(simple.argv)
        for own in layers:
            if Path(own[0]).name == "env":
                self._check_env([a.split("=", 1)[0] for a in own if ASSIGNMENT.match(a)],
                                command)
            self._check_options(own, command)
        if not argv:
            raise PolicyDenied("command_not_allowed",
                               f"{simple.text()!r} wraps no command", target=command)
        self._check_argv(argv, command)
        for arg, is_glob in zip(simple.argv[1:], simple.globs[1:], strict=True):
            self._check_argument(arg, command)
            if is_glob:  # the runner expands it in the workspace: check what it would name
                for match in glob.glob(arg, root_dir=self.workspace.root):
                    self._check_argument(match, command)
        self._hide_denied_files(simple, len(simple.argv) - len(argv))

    def _check_argv(self, argv: list[str], command: str) -> None:
        """The unwrapped command: deny patterns, shells, its options, the allowlist."""
        self._deny_patterns(" ".join(argv), command)
        name = Path(argv[0]).name
        if name in ESCALATION:
            raise PolicyDenied("command_denied", f"{name!r} escalates privileges",
                               target=command)
        if name in SHELLS or name in EVALUATORS:
            raise PolicyDenied("command_denied", f"{name!r} would run arbitrary shell code",
                               target=command, hint="run the commands directly")
        self._check_options(argv, command)
        if name == "git":
            self._check_git_objects(argv, command)
        if not any(self._matches(entry, argv) for entry in self.allowed):
            raise PolicyDenied(
                "command_not_allowed", f"{' '.join(argv)!r} is not in security.allowed_commands",
                target=command, hint="use an allowed command or ask the user to allow it")

    def _check_options(self, argv: list[str], command: str) -> None:
        """Options that write (checked as writes), run programs or follow symlinks (denied)."""
        for value in classified(argv):
            if value.kind == "exec":
                raise PolicyDenied("command_denied", f"{value.option!r} makes "
                                   f"{Path(argv[0]).name} run another program or code",
                                   target=command)
            if value.kind == "follow":
                raise PolicyDenied("command_denied", f"{value.option!r} follows symlinks, "
                                   "which may lead out of the workspace", target=command,
                                   hint="leave the option out (-r instead of -R)")
            if value.kind == "write":
                self._check_written(value.value, command)
            elif value.kind == "read" and value.value:
                self.workspace.check_read(value.value)
            elif value.kind == "ini":
                key, _, setting = value.value.partition("=")
                if key.strip() in ("addopts", "required_plugins"):
                    raise PolicyDenied("command_denied", f"'{value.option} {key}' changes "
                                       "pytest's options", target=command)
                if key.strip() in PYTEST_PATH_SETTINGS:
                    self._check_written(setting, command)

    def _check_written(self, value: str, command: str) -> None:
        """A path a tool writes to (a file or a directory): inside, and not protected."""
        if not value or value == "-" or value in SAFE_DEVICES:
            return
        path = str(Path(value).expanduser()) if value.startswith("~") else value
        resolved = self.workspace.resolve(path)
        rel = self.workspace.relative(resolved)
        pattern = matches(rel, self.workspace.protected) if rel != "." else "the workspace root"
        if pattern:
            raise PolicyDenied("protected_path", f"{command!r} writes {rel!r}, which matches "
                               f"security.protected_paths {pattern!r}", target=command)

    def _check_git_objects(self, argv: list[str], command: str) -> None:
        """``git show HEAD:.env``: a file named inside a revision is read like the file."""
        for arg in argv[1:]:
            if arg.startswith("-") or ":" not in arg:
                continue
            inner = arg.split(":", 1)[1]
            while inner.startswith(("./", "/")):
                inner = inner.removeprefix(".").removeprefix("/")
            pattern = matches(inner or ".", self.workspace.deny_read)
            if pattern:
                raise PolicyDenied("read_denied", f"{arg!r} names {inner!r}, which matches "
                                   f"security.deny_read {pattern!r}", target=command,
                                   hint="this file may hold secrets; ask the user")

    def _hide_denied_files(self, simple: SimpleCommand, at: int) -> None:
        """A recursive search skips the ``deny_read`` files (the sandbox also masks them)."""
        argv = simple.argv[at:]
        name = Path(argv[0]).name
        recursive = name == "rg" or (name in ("grep", "egrep", "fgrep") and any(
            a in ("-r", "--recursive") or (a.startswith("-") and not a.startswith("--")
                                           and "r" in a) for a in argv[1:]))
        if not recursive:
            return
        extra: list[str] = []
        for pattern in self.workspace.deny_read:
            if name == "rg":
                extra.append(f"--glob=!{pattern.removesuffix('/**')}")
            elif pattern.endswith("/**"):
                extra.append(f"--exclude-dir={pattern[:-3]}")
            else:
                extra.append(f"--exclude={pattern}")
        simple.argv[at + 1:at + 1] = extra
        simple.globs[at + 1:at + 1] = [False] * len(extra)

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

    def _check_xargs(self, simple: SimpleCommand, feeder: SimpleCommand | None,
                     command: str) -> None:
        """``xargs`` takes its arguments from its input: allowed only when that input is an
        ``echo`` of literal words, and then checked as the command it makes."""
        layers, argv = wrappers(simple.argv)
        if not any(Path(own[0]).name == "xargs" for own in layers):
            return
        options = [a for own in layers if Path(own[0]).name == "xargs" for a in own[1:]]
        fed = feeder is not None and not feeder.redirects and feeder.argv[:1] == ["echo"] \
            and not any(a.startswith("-") for a in feeder.argv[1:])
        if not fed or any(o not in XARGS_PLAIN for o in options) or feeder is None:
            raise PolicyDenied("command_denied", "xargs takes its arguments from its input, "
                               "which cannot be checked", target=command,
                               hint="run the command with its arguments written out")
        words = [w for arg in feeder.argv[1:] for w in arg.split()]
        composed = [*argv, *words]
        self._check_argv(composed, command)
        for word in words:
            self._check_argument(word, command)

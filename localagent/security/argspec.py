"""What the arguments of the tools agents run mean: which options write a file, which run
another program, which follow symlinks out of the workspace, and which tools run project
code at all. The command policy checks each kind (see ``commands.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Kinds of option: "write" (its value is a path written), "read" (a path read), "exec" (runs a
# program or code: denied), "follow" (follows symlinks out of the workspace: denied),
# "value" (takes a value, nothing to check) and "ini" (pytest's -o key=value).
_PYTEST = {
    "--basetemp": "write", "--junitxml": "write", "--junit-xml": "write",
    "--log-file": "write", "--resultlog": "write", "--result-log": "write",
    "--report-log": "write", "--debug=": "write", "--cov-report": "write",
    "--confcutdir": "read", "--rootdir": "read", "-c": "read", "--config-file": "read",
    "-o": "ini", "--override-ini": "ini", "--pastebin": "exec",
    "-k": "value", "-m": "value", "-p": "value", "-W": "value", "--tb": "value",
    "--maxfail": "value", "--durations": "value", "--deselect": "value", "--ignore": "read",
}
_MYPY_REPORTS = ("--html-report", "--txt-report", "--xml-report", "--linecount-report",
                 "--any-exprs-report", "--cobertura-xml-report", "--lineprecision-report",
                 "--linecoverage-report", "--junit-xml", "--cache-dir")


@dataclass(frozen=True)
class ToolSpec:
    options: Mapping[str, str] = field(default_factory=dict)
    # positional operands that are written: (first index, last index or None for all)
    writes: tuple[int, int | None] | None = None
    # find/go style: long options with one dash, never clustered
    single_dash: bool = False
    # options that only mean something before the first operand (git's global options)
    leading: Mapping[str, str] = field(default_factory=dict)


TOOLS: dict[str, ToolSpec] = {
    "sort": ToolSpec({"-o": "write", "--output": "write", "-T": "write",
                      "--temporary-directory": "write", "--compress-program": "exec",
                      "--files0-from": "read", "-k": "value", "--key": "value", "-t": "value",
                      "-S": "value", "--buffer-size": "value", "--parallel": "value"}),
    "uniq": ToolSpec({"-f": "value", "-s": "value", "-w": "value"}, writes=(1, 1)),
    "tee": ToolSpec({}, writes=(0, None)),
    "find": ToolSpec({"-fprint": "write", "-fprint0": "write", "-fprintf": "write",
                      "-fls": "write", "-L": "follow", "-follow": "follow", "-exec": "exec",
                      "-execdir": "exec", "-ok": "exec", "-okdir": "exec", "-delete": "exec",
                      "-name": "value", "-iname": "value", "-path": "value",
                      "-ipath": "value", "-regex": "value", "-type": "value",
                      "-maxdepth": "value", "-mindepth": "value", "-newer": "read",
                      "-printf": "value", "-size": "value", "-mtime": "value",
                      "-files0-from": "read"}, single_dash=True),
    "grep": ToolSpec({"-R": "follow", "--dereference-recursive": "follow", "-e": "value",
                      "--regexp": "value", "-f": "read", "--file": "read", "-m": "value",
                      "-A": "value", "-B": "value", "-C": "value", "--include": "value",
                      "--exclude": "value", "--exclude-dir": "value",
                      "--exclude-from": "read"}),
    "rg": ToolSpec({"--pre": "exec", "-L": "follow", "--follow": "follow", "-e": "value",
                    "--regexp": "value", "-g": "value", "--glob": "value", "-t": "value",
                    "-T": "value", "--type": "value", "-m": "value", "-A": "value",
                    "-B": "value", "-C": "value", "-f": "read", "--file": "read",
                    "--ignore-file": "read"}),
    "tree": ToolSpec({"-o": "write", "-l": "follow", "-L": "value", "-P": "value",
                      "-I": "value"}),
    "ls": ToolSpec({"-L": "follow", "--dereference": "follow"}),
    "time": ToolSpec({"-o": "write", "--output": "write", "-f": "value"}),
    "env": ToolSpec({"-S": "exec", "--split-string": "exec", "-C": "read", "--chdir": "read",
                     "-u": "value", "--unset": "value"}),
    "git": ToolSpec({"--output": "write", "-o": "write", "--output-directory": "write",
                     "--upload-pack": "exec", "--receive-pack": "exec", "--ext-diff": "exec",
                     "-O": "exec", "--open-files-in-pager": "exec", "-n": "value",
                     "--format": "value", "--pretty": "value", "--author": "value",
                     "--grep": "value", "--since": "value", "--until": "value",
                     "-S": "value", "-G": "value"},
                    leading={"-c": "exec", "--config-env": "exec", "--exec-path": "exec",
                             "--git-dir": "read", "--work-tree": "read", "-C": "read",
                             "--namespace": "value", "--super-prefix": "value"}),
    "pytest": ToolSpec(_PYTEST),
    "mypy": ToolSpec({**dict.fromkeys(_MYPY_REPORTS, "write"), "--config-file": "read"}),
    "ruff": ToolSpec({"--cache-dir": "write", "-o": "write", "--output-file": "write",
                      "--config": "read"}),
    "tsc": ToolSpec({"--outDir": "write", "--outFile": "write", "--out": "write",
                     "--declarationDir": "write", "--tsBuildInfoFile": "write",
                     "--generateTrace": "write", "-p": "read", "--project": "read"}),
    "eslint": ToolSpec({"-o": "write", "--output-file": "write", "--cache-location": "write",
                        "-c": "read", "--config": "read", "--rulesdir": "read",
                        "--resolve-plugins-relative-to": "read"}),
    "go": ToolSpec({"-o": "write", "-coverprofile": "write", "-cpuprofile": "write",
                    "-memprofile": "write", "-blockprofile": "write", "-mutexprofile": "write",
                    "-trace": "write", "-outputdir": "write", "-exec": "exec",
                    "-toolexec": "exec", "-modfile": "read", "-overlay": "read",
                    "-run": "value", "-count": "value", "-timeout": "value", "-tags": "value",
                    "-bench": "value"}, single_dash=True),
    "cargo": ToolSpec({"--target-dir": "write", "--config": "exec", "-Z": "exec",
                       "--manifest-path": "read", "-p": "value", "--package": "value"}),
    "npm": ToolSpec({"--script-shell": "exec", "--prefix": "write", "--cache": "write",
                     "--userconfig": "read", "--globalconfig": "read"}),
    "npx": ToolSpec({"-c": "exec", "--call": "exec", "--script-shell": "exec",
                     "-p": "exec", "--package": "exec"}),
    "make": ToolSpec({"-f": "read", "--file": "read", "--makefile": "read", "-C": "read",
                      "--directory": "read", "-I": "read", "--include-dir": "read",
                      "--eval": "exec", "-E": "exec", "-o": "value", "-W": "value",
                      "-j": "value"}),
    "tar": ToolSpec({"-I": "exec", "--use-compress-program": "exec", "--to-command": "exec",
                     "--checkpoint-action": "exec", "-F": "exec", "--info-script": "exec",
                     "--new-volume-script": "exec", "-f": "write", "--file": "write",
                     "-C": "write", "--directory": "write"}),
    "wc": ToolSpec({"--files0-from": "read"}),
    "du": ToolSpec({"--files0-from": "read", "-L": "follow", "--dereference": "follow"}),
}

# Tools that only read, print or compare what they are given: they never execute a file
# of the project. Everything else (test runners, build tools, interpreters, linters with
# plugins, unknown programs) is treated as running project code.
INERT = frozenset({
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "rg", "find", "tree", "sort",
    "uniq", "diff", "cmp", "comm", "echo", "printf", "pwd", "true", "false", "which", "file",
    "stat", "git", "ruff", "basename", "dirname", "realpath", "readlink", "du", "df", "date",
    "cut", "tr", "nl", "od", "xxd", "md5sum", "sha1sum", "sha256sum", "sleep", "yes",
    "printenv", "tee", "column", "fold", "rev", "seq", "expr", "test", "[", "whoami", "id",
    "uname", "hostname", "nproc",
})
VERSION_FLAGS = frozenset({"--version", "-V", "version"})


def tool_and_args(argv: list[str]) -> tuple[str, list[str]]:
    """The tool an argv runs and its arguments: ``python -m pytest -x`` is pytest's ``-x``."""
    name = Path(argv[0]).name
    if name.startswith("python") and len(argv) > 2 and argv[1] == "-m":
        return argv[2], argv[3:]
    if name == "py.test":
        return "pytest", argv[1:]
    return name, argv[1:]


@dataclass(frozen=True)
class Value:
    """An option's value or a positional operand that names a file, and what is done to it."""

    kind: str  # write | read | exec | follow | ini
    option: str
    value: str


def _lookup(options: Mapping[str, str], arg: str) -> tuple[str, str, str | None] | None:
    """(option, kind, attached value) of a long option, ``--opt=value`` or ``--opt``."""
    name, eq, value = arg.partition("=")
    kind = options.get(name) or (options.get(name + "=") if eq else None)
    return None if kind is None else (name, kind, value if eq else None)


class _Args:
    """The arguments still to read; a value that looks like an option is also read as one,
    so ``-C --output=x`` cannot hide ``--output`` behind ``-C``."""

    def __init__(self, args: list[str]) -> None:
        self.args, self.i = args, 0

    def next_value(self) -> str:
        if self.i >= len(self.args):
            return ""
        value = self.args[self.i]
        if not value.startswith("-"):
            self.i += 1
        return value


def classified(argv: list[str]) -> Iterator[Value]:
    """Every option of ``argv`` (unwrapped) that writes, reads, executes or follows, with its
    value, and the positional operands the tool writes to."""
    tool, args = tool_and_args(argv)
    spec = TOOLS.get(tool)
    if spec is None:
        return
    positional: list[str] = []
    rest = _Args(args)
    while rest.i < len(args):
        arg = args[rest.i]
        rest.i += 1
        options = {**spec.options, **spec.leading} if not positional else spec.options
        if arg == "--":
            positional.extend(args[rest.i:])
            break
        if arg.startswith("--") or (spec.single_dash and arg.startswith("-") and len(arg) > 2):
            found = _lookup(options, arg)
            if found is None:
                continue
            name, kind, value = found
            if value is None and kind != "follow" and name in options:
                value = rest.next_value()
            if kind != "value":
                yield Value(kind, name, value or "")
            continue
        if arg.startswith("-") and len(arg) > 1:
            for position in range(1, len(arg)):  # a cluster: -uo FILE, -oFILE
                option = "-" + arg[position]
                short = options.get(option)
                if short is None:
                    continue
                if short == "follow":
                    yield Value(short, option, "")
                    continue
                attached = arg[position + 1:] or rest.next_value()
                if short != "value":
                    yield Value(short, option, attached)
                break
            continue
        positional.append(arg)
    if spec.writes is not None:
        first, last = spec.writes
        for operand in positional[first:None if last is None else last + 1]:
            yield Value("write", "operand", operand)


def runs_project_code(argv: list[str], program: str | None, workspace: Path) -> bool:
    """Whether running ``argv`` (unwrapped) may execute code from the project: anything but
    an inert tool, and any program that lives in the workspace."""
    if program is not None and Path(program).resolve().is_relative_to(workspace):
        return True
    tool = tool_and_args(argv)[0]
    if Path(argv[0]).name != tool:  # python -m something
        return True
    if tool in INERT:
        return False
    return not (len(argv) == 2 and argv[1] in VERSION_FLAGS)

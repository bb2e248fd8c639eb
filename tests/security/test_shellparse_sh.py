"""``shellparse`` against the real ``sh``: the argv each command would get, the variables
assigned before it and the files its redirections create, for a corpus of command lines.

The comparison runs each line through ``sh`` with a probe program on PATH that records its
argv (and the probed variables) in a log, and through ``parse`` plus the runner's glob
expansion (``runner._argv``), in the same directory with the same environment. Constructs
the parser refuses on purpose are checked to be refused, and the syntax errors among them to
be errors for ``sh`` too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localagent.security.runner import _argv
from localagent.security.shellparse import ParseError, parse

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="needs a POSIX sh")  # always there on Linux

# The probe appends one JSON line per run: its argv and the variables below, in one write.
PROBE = f"""#!{sys.executable} -S
import json, os, sys
record = {{"argv": sys.argv[1:],
           "env": {{k: os.environ[k] for k in ("FOO", "BAR", "EMPTY") if k in os.environ}}}}
fd = os.open(os.environ["PROBE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
os.write(fd, (json.dumps(record) + "\\n").encode())
os.close(fd)
"""

# Variables both sides see. Values hold no IFS characters: the parser does not field-split
# an expansion (see test_unquoted_expansion_is_one_word).
VARS = {"HOME": "/home/someone", "NAME": "world", "EMPTYISH": "x", "DIR": "src/pkg"}

# Each line runs commands named ``p`` (the probe); compared as what each command is given.
CORPUS = [
    # plain words and blanks
    "p", "p a b c", "p   spaced\tout  ", "p a\tb", "p -la --flag=value -x=1",
    # single quotes keep everything literal
    "p 'a b'", "p 'it''s'", "p '$NAME' '\\n' '\"'", "p ''", "p '' ''", "p a'b c'd",
    "p '*.txt' '?' '[ab]'",
    # double quotes: $ expands, backslash escapes only $ ` \" \\ and newline
    'p "a b"', 'p "$NAME"', 'p "${NAME}x"', 'p "\\$NAME"', 'p "a\\b"', 'p "a\\\\b"',
    'p "say \\"hi\\""', 'p ""', 'p "" x', 'p "it\'s"', 'p "a"\'b\'c', 'p "$UNSET_VAR"x',
    'p "line\\\nnext"', 'p "tab\there"',
    # backslash outside quotes
    "p a\\ b", "p \\'", 'p \\"', "p \\$NAME", "p \\\\", "p a\\\nb", "p \\*.txt",
    # parameter expansion
    "p $NAME", "p ${NAME}", "p pre$NAME", "p $NAME.post", "p ${NAME}_x", "p $HOME/x",
    "p $DIR/$NAME", "p $", "p a$", "p cost:$ 5", "p $NAME$NAME",
    # globs: expanded by sh and by the runner alike, literal when nothing matches
    "p *.txt", "p b?.txt", "p [ab]1.txt", "p sub/*", "p *.none", "p '*'.txt", "p \"*\".txt",
    "p .*rc", "p *",
    # comments
    "p a # a comment", "p a#not-a-comment", "p '#' x",
    # assignments before a command
    "FOO=1 p", "FOO=1 BAR=two p x", "FOO='a b' p", "FOO=$NAME p", "EMPTY= p", "p FOO=1",
    # several commands
    "p a; p b", "p a && p b", "p a\np b", "p a ; p b ;", "p a & wait", "p a | p b",
    "p a|p b|p c",
    # redirections (the file is created by sh and named by the parser)
    "p a > out.txt", "p a >out.txt b", "p a 2>err.txt", "p a >> out.txt", "p a 2>&1",
    "p a < a1.txt", "p a 1>out.txt", "p a 2> 'my file'", "p x2>out.txt",
]

REJECTED_SYNTAX = [  # sh refuses these too
    "p 'open", 'p "open', "p a |", "| p a", "p a &&", "&& p", "p a >", "p a ||",
    "p $(echo", "p `echo", "p ; ; p",
]
REJECTED_ON_PURPOSE = [  # valid sh the parser does not follow: refused rather than guessed
    "p ${NAME:-default}", "p ${#NAME}", "p ${NAME%x}", "p ${unterminated",
]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    probe = bindir / "p"
    probe.write_text(PROBE)
    probe.chmod(0o755)
    for name in ("a1.txt", "b1.txt", "b2.txt", "c.md", ".hidden.txt", ".bashrc", "sub/x.py"):
        (root / name).write_text("x\n")
    return root


def _env(site: Path) -> dict[str, str]:
    return {**VARS, "PATH": f"{site.parent / 'bin'}:/usr/bin:/bin", "LC_ALL": "C",
            "PROBE_LOG": str(site.parent / "probe.log")}


def sh_runs(line: str, site: Path) -> list[dict[str, object]]:
    """What each probe run was given when ``sh`` ran ``line`` in ``site``."""
    log = site.parent / "probe.log"
    log.unlink(missing_ok=True)
    done = subprocess.run([SH or "sh", "-c", line], cwd=site, env=_env(site),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"sh failed on {line!r}: {done.stderr}"
    if not log.exists():
        return []
    return [json.loads(row) for row in log.read_text().splitlines()]


def parser_runs(line: str, site: Path) -> list[dict[str, object]]:
    """What each command would be given by the runner: parsed words, globs expanded."""
    env = {**VARS, "LC_ALL": "C"}
    runs = []
    for command in parse(line, env).commands():
        if command.argv[0] != "p":  # `wait`, run by sh as a builtin
            continue
        probed = {k: v for k, v in command.assignments.items() if k in ("FOO", "BAR", "EMPTY")}
        runs.append({"argv": _argv(command, site)[1:], "env": probed})
    return runs


def _sorted(runs: list[dict[str, object]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in runs)


@pytest.mark.slow  # one sh and one Python process per line
@pytest.mark.parametrize("line", CORPUS)
def test_same_words_as_sh(line: str, site: Path) -> None:
    expected = sh_runs(line, site)
    got = parser_runs(line, site)
    # a pipeline's commands run concurrently: compare the runs, not their order
    assert _sorted(got) == _sorted(expected)
    assert got, f"the corpus line {line!r} ran no probe"


def test_corpus_is_broad() -> None:
    assert len(CORPUS) >= 40 and len(set(CORPUS)) == len(CORPUS)


@pytest.mark.parametrize("line", ["p a > out.txt", "p a >> out.txt", "p a >out.txt b",
                                  "p a 2> 'my file'", "p x2>out.txt"])
def test_redirect_targets_are_the_files_sh_creates(line: str, site: Path) -> None:
    sh_runs(line, site)
    created = {p.name for p in site.iterdir()} - {"a1.txt", "b1.txt", "b2.txt", "c.md",
                                                 ".hidden.txt", ".bashrc", "sub"}
    named = {r.target for c in parse(line).commands() for r in c.redirects}
    assert named == created


def test_redirect_fd_is_a_bare_number_only() -> None:
    assert [(r.fd, r.op, r.target) for r in parse("p a 2>&1 >o 1>>p").commands()[0].redirects
            ] == [(2, ">&", "1"), (None, ">", "o"), (1, ">>", "p")]
    for line in ("p x2>out.txt", "p '2'>out.txt", "p \\2>out.txt", "p *2>out.txt"):
        command = parse(line).commands()[0]
        assert command.redirects[0].fd is None, line


def test_glob_flag_only_on_unquoted_glob_characters() -> None:
    words = parse("p *.py '*.py' \"?\" a\\* [ab] x").commands()[0]
    assert words.globs == [False, True, False, False, False, True, False]


@pytest.mark.parametrize("line", ["p $(echo hi)", "p `echo hi`", "p \"$(echo a b)\"",
                                  "p <(echo a)", "p a$(echo b)c"])
def test_substitutions_are_found_not_run(line: str) -> None:
    parsed = parse(line)
    assert parsed.substitutions and all("echo" in s for s in parsed.substitutions)


def test_subshell_is_noticed() -> None:
    assert parse("(p a; p b)").subshell
    assert not parse("p '(a)'").subshell


@pytest.mark.parametrize("line", REJECTED_SYNTAX)
def test_syntax_errors_are_errors_for_both(line: str, site: Path) -> None:
    with pytest.raises(ParseError):
        parse(line)
    checked = subprocess.run([SH or "sh", "-n", "-c", line], cwd=site, env=_env(site),
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode != 0, f"sh accepts {line!r}"


@pytest.mark.parametrize("line", REJECTED_ON_PURPOSE)
def test_unsupported_expansions_are_refused(line: str) -> None:
    with pytest.raises(ParseError, match=r"not supported|unterminated"):
        parse(line, VARS)


def test_unquoted_expansion_is_one_word() -> None:
    """Where the parser differs from sh on purpose: an expansion is never split on blanks or
    globbed, so a value cannot smuggle in extra arguments or patterns."""
    env = {"SPLIT": "a b", "PATTERN": "*"}
    assert parse("p $SPLIT $PATTERN", env).commands()[0].argv == ["p", "a b", "*"]
    assert parse("p $PATTERN", env).commands()[0].globs == [False, False]


# Where the parser differs from sh on purpose, with what each gives. Commands run without a
# shell, so there are no positional or special parameters to expand: they stay literal. An
# unset variable leaves an empty argument where sh drops the word.
DIFFERS = [
    ("p $1x", ["$1x"], ["x"]),
    ("p $-", ["$-"], []),
    ("p $? $#", ["$?", "$#"], ["0", "0"]),
    ("p $UNSET_VAR", [""], []),
]


@pytest.mark.slow
@pytest.mark.parametrize(("line", "ours", "theirs"), DIFFERS)
def test_known_differences_from_sh(line: str, ours: list[str], theirs: list[str],
                                   site: Path) -> None:
    assert sh_runs(line, site) == [{"argv": theirs, "env": {}}]
    assert parser_runs(line, site) == [{"argv": ours, "env": {}}]


def test_environment_is_not_read_implicitly() -> None:
    os.environ.setdefault("HOME", "/root")
    assert parse("p $HOME").commands()[0].argv == ["p", ""]

"""A small POSIX-shell parser: enough to see every command a command line would run.

Commands run without a shell, so the parser's job is to split a command line into
pipelines and simple commands exactly as ``sh`` would, and to find every construct
that hides another command (``$(...)``, backticks, ``<(...)``, subshells) so the policy
can check it. Quoting, escapes and ``$VAR`` expansion follow POSIX rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
CONNECTORS = (";", "&&", "||", "&")
REDIRECTS = ("<<<", "<<", ">>", ">&", "&>", "<&", "<", ">")
OPERATORS = ("&&", "||", "|", ";", "&", "(", ")")
GLOB_CHARS = frozenset("*?[")


class ParseError(ValueError):
    """The command line is not valid shell syntax (unterminated quote, dangling ``|``...)."""


@dataclass
class Word:
    text: str
    glob: bool = False


@dataclass
class Op:
    text: str


@dataclass
class Redir:
    op: str
    fd: int | None


@dataclass
class Redirect:
    fd: int | None
    op: str
    target: str


@dataclass
class SimpleCommand:
    argv: list[str] = field(default_factory=list)
    globs: list[bool] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)
    redirects: list[Redirect] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.argv or self.assignments or self.redirects)

    def text(self) -> str:
        return " ".join(self.argv)


@dataclass
class CommandLine:
    """Pipelines joined by connectors (``;``, ``&&``, ``||``, ``&``)."""

    pipelines: list[list[SimpleCommand]] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)
    substitutions: list[str] = field(default_factory=list)
    subshell: bool = False
    background: bool = False

    def commands(self) -> list[SimpleCommand]:
        return [command for pipeline in self.pipelines for command in pipeline]


def _closing(text: str, start: int, opener: str, closer: str) -> int:
    """Index of the ``closer`` balancing the ``opener`` just before ``start``."""
    depth, i, quote = 1, start, ""
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ParseError(f"unterminated {opener!r} at offset {start - 1}")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.text, self.env = text, env
        self.tokens: list[Word | Op | Redir] = []
        self.substitutions: list[str] = []
        self.buf: list[str] = []
        self.started = False
        self.glob = False
        self.quoted = False  # a quoted or escaped word is never a redirection's fd

    def flush(self) -> None:
        if self.started:
            self.tokens.append(Word("".join(self.buf), self.glob))
        self.buf, self.started, self.glob, self.quoted = [], False, False, False

    def add(self, chunk: str) -> None:
        self.buf.append(chunk)
        self.started = True

    def dollar(self, i: int) -> int:
        """Handle ``$`` at ``i``; returns the index after what it consumed."""
        text = self.text
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "(":
            end = _closing(text, i + 2, "(", ")")
            self.substitutions.append(text[i + 2:end])
            self.add(text[i:end + 1])
            return end + 1
        if nxt == "{":
            end = text.find("}", i + 2)
            if end < 0:
                raise ParseError(f"unterminated '${{' at offset {i}")
            name = text[i + 2:end]
            if not NAME.fullmatch(name):
                raise ParseError(f"parameter expansion '${{{name}}}' is not supported")
            self.add(self.env.get(name, ""))
            return end + 1
        match = NAME.match(text, i + 1)
        if match:
            self.add(self.env.get(match.group(), ""))
            return match.end()
        self.add("$")
        return i + 1

    def backtick(self, i: int) -> int:
        end = self.text.find("`", i + 1)
        if end < 0:
            raise ParseError(f"unterminated backtick at offset {i}")
        self.substitutions.append(self.text[i + 1:end])
        self.add(self.text[i:end + 1])
        return end + 1

    def double_quoted(self, i: int) -> int:
        text, i = self.text, i + 1
        self.started = self.quoted = True
        while i < len(text):
            c = text[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
                if text[i + 1] != "\n":
                    self.add(text[i + 1])
                i += 2
            elif c == "$":
                i = self.dollar(i)
            elif c == "`":
                i = self.backtick(i)
            else:
                self.add(c)
                i += 1
        raise ParseError("unterminated double quote")

    def operator(self, i: int) -> int | None:
        text = self.text
        if text[i] in "<>" and text[i + 1:i + 2] == "(":
            end = _closing(text, i + 2, "(", ")")
            self.substitutions.append(text[i + 2:end])
            self.add(text[i:end + 1])
            return end + 1
        for op in REDIRECTS:
            if text.startswith(op, i):
                fd = None
                if (self.started and not self.glob and not self.quoted
                        and "".join(self.buf).isdigit()):
                    fd = int("".join(self.buf))
                    self.buf, self.started = [], False
                self.flush()
                self.tokens.append(Redir(op, fd))
                return i + len(op)
        for op in OPERATORS:
            if text.startswith(op, i):
                self.flush()
                self.tokens.append(Op(op))
                return i + len(op)
        return None

    def run(self) -> None:
        text, i = self.text, 0
        while i < len(text):
            c = text[i]
            if c in " \t":
                self.flush()
                i += 1
            elif c == "\n":
                self.flush()
                self.tokens.append(Op(";"))
                i += 1
            elif c == "#" and not self.started:
                end = text.find("\n", i)
                i = len(text) if end < 0 else end
            elif c == "\\":
                if text[i + 1:i + 2] != "\n":
                    self.add(text[i + 1:i + 2])
                    self.quoted = True
                i += 2
            elif c == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise ParseError("unterminated single quote")
                self.add(text[i + 1:end])
                self.quoted = True
                i = end + 1
            elif c == '"':
                i = self.double_quoted(i)
            elif c == "`":
                i = self.backtick(i)
            elif c == "$":
                i = self.dollar(i)
            elif (nxt := self.operator(i)) is not None:
                i = nxt
            else:
                if c in GLOB_CHARS:
                    self.glob = True
                self.add(c)
                i += 1
        self.flush()


def parse(text: str, env: Mapping[str, str] | None = None) -> CommandLine:
    """Split a command line into pipelines of simple commands; ``$VAR`` expands from ``env``."""
    lexer = _Lexer(text, env or {})
    lexer.run()
    line = CommandLine(substitutions=lexer.substitutions)
    pipeline: list[SimpleCommand] = []
    current = SimpleCommand()
    pending: Redir | None = None

    def end_command(op: str) -> None:
        nonlocal current
        if current.empty:
            raise ParseError(f"{op!r} with no command before it")
        pipeline.append(current)
        current = SimpleCommand()

    for token in lexer.tokens:
        if pending is not None:
            if not isinstance(token, Word):
                raise ParseError(f"redirection {pending.op!r} needs a target")
            current.redirects.append(Redirect(pending.fd, pending.op, token.text))
            pending = None
        elif isinstance(token, Redir):
            pending = token
        elif isinstance(token, Word):
            if not current.argv and ASSIGNMENT.match(token.text):
                name, _, value = token.text.partition("=")
                current.assignments[name] = value
            else:
                current.argv.append(token.text)
                current.globs.append(token.glob)
        elif token.text in "()":
            line.subshell = True
        elif token.text == "|":
            end_command("|")
        else:
            end_command(token.text)
            line.pipelines.append(pipeline)
            line.connectors.append(token.text)
            line.background |= token.text == "&"
            pipeline = []
    if pending is not None:
        raise ParseError(f"redirection {pending.op!r} needs a target")
    if not current.empty:
        pipeline.append(current)
    elif pipeline:
        raise ParseError("'|' with no command after it")
    if pipeline:
        line.pipelines.append(pipeline)
    elif line.connectors and line.connectors[-1] in (";", "&"):
        line.connectors.pop()  # a trailing ';' or '&' ends the line
    elif line.connectors:
        raise ParseError(f"{line.connectors[-1]!r} with no command after it")
    if not line.pipelines:
        raise ParseError("empty command")
    return line

"""The macOS ``sandbox-exec`` (Seatbelt) profile for one command line.

Seatbelt profiles are Scheme-like rule lists where the last matching rule wins: everything
is allowed, then all writes are denied, then the workspace and a private temp directory
are allowed, then the protected paths (any depth) are denied again; hidden files cannot be
read; the network is denied unless allowed. Written from Apple's profile language as used
by Chromium and Bazel; not run by the test suite (it needs macOS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localagent.security.sandbox import Confinement

_ERE_SPECIAL = frozenset(".[]()*+?{}|^$\\\"")
DEVICES = ("/dev/null", "/dev/zero", "/dev/tty", "/dev/dtracehelper")


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape(text: str) -> str:
    """A literal in a POSIX extended regex (regex literals ``#"..."`` are raw strings; a
    quote is escaped too)."""
    return "".join(f"\\{c}" if c in _ERE_SPECIAL else c for c in text)


def _glob_regex(pattern: str) -> str:
    """A workspace path pattern (``.git``, ``*.pem``, ``dir/**``) as a regex body."""
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else _escape(c)
                   for c in pattern)


def pattern_regex(workspace: Path, pattern: str) -> str:
    """``pattern`` anchored in the workspace: one without a slash matches at any depth."""
    body = _glob_regex(pattern.removesuffix("/**"))
    anywhere = "/" not in pattern.removesuffix("/**")
    prefix = _escape(str(workspace)) + ("/(.*/)?" if anywhere else "/")
    return f'#"^{prefix}{body}(/.*)?$"'



def _paths(paths: list[Path]) -> list[str]:
    return [f"({'subpath' if p.is_dir() else 'literal'} {_string(str(p))})" for p in paths]


def profile(confinement: Confinement, temp: Path) -> str:
    """The profile text. Protected and ``deny_read`` patterns are also matched by regex, so
    they cover paths that do not exist yet."""
    ws = confinement.workspace
    lines = ["(version 1)", "(allow default)"]
    if not confinement.allow_network:
        lines.append("(deny network*)")
    lines.append("(deny file-write*)")
    allowed = [f"(subpath {_string(str(ws))})", f"(subpath {_string(str(temp))})",
               *(f"(literal {_string(d)})" for d in DEVICES), '(regex #"^/dev/fd/")']
    lines.append(f"(allow file-write* {' '.join(allowed)})")
    denied_writes = [*_paths(confinement.read_only),
                     *(f"(regex {pattern_regex(ws, p)})" for p in confinement.protected_patterns)]
    if denied_writes:
        lines.append(f"(deny file-write* {' '.join(denied_writes)})")
    outside = [p for p in confinement.hidden if not p.is_relative_to(ws)]
    if outside:
        lines.append(f"(deny file-read* {' '.join(_paths(outside))})")
        lines.append(f"(allow file-read* (subpath {_string(str(ws))}))")
    inside = [*_paths([p for p in confinement.hidden if p.is_relative_to(ws)]),
              *(f"(regex {pattern_regex(ws, p)})" for p in confinement.hidden_patterns)]
    if inside:
        lines.append(f"(deny file-read* file-write* {' '.join(inside)})")
    return "\n".join(lines) + "\n"

"""Merging proposed edits: several streams may change one file if their lines do not overlap."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass
class Hunk:
    start: int          # first original line replaced
    end: int            # one past the last original line replaced
    lines: list[str]    # replacement
    stream: str


def hunks(original: list[str], new: list[str], stream: str) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(a=original, b=new, autojunk=False)
    return [Hunk(i1, i2, new[j1:j2], stream)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def overlaps(a: Hunk, b: Hunk) -> bool:
    """Replacements overlap when their line ranges do; an insertion clashes with a change
    around its position, or with another insertion at the same place."""
    if a.start == a.end or b.start == b.end:
        insertion, other = (a, b) if a.start == a.end else (b, a)
        if other.start == other.end:
            return insertion.start == other.start
        return other.start < insertion.start < other.end
    return a.start < b.end and b.start < a.end


def merge_versions(original: str, versions: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """Combine each stream's new version of one file; returns the text and conflicts.

    A hunk that overlaps a hunk of an earlier stream is dropped and reported.
    """
    base = original.splitlines(keepends=True)
    kept: list[Hunk] = []
    conflicts: list[str] = []
    for stream, text in versions:
        for hunk in hunks(base, text.splitlines(keepends=True), stream):
            clash = next((k for k in kept if overlaps(k, hunk)), None)
            if clash is not None:
                conflicts.append(f"{stream} and {clash.stream} both change lines "
                                 f"{hunk.start + 1}-{max(hunk.end, hunk.start + 1)}")
                continue
            kept.append(hunk)
    out: list[str] = []
    position = 0
    for hunk in sorted(kept, key=lambda h: (h.start, h.end)):
        out.extend(base[position:hunk.start])
        out.extend(hunk.lines)
        position = max(position, hunk.end)
    out.extend(base[position:])
    return "".join(out), conflicts


def unified(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))

"""Printing data as rich tables, JSON or YAML (``--format``)."""

from __future__ import annotations

import json
from typing import Any

import typer

from localagent.redact import scrub_data


def dump(data: Any, fmt: str) -> str:
    data = scrub_data(data)
    if fmt == "yaml":
        import yaml

        return str(yaml.dump(data, Dumper=_readable_dumper(), sort_keys=False,
                             allow_unicode=True))
    return json.dumps(data, indent=2, default=str)


def _readable_dumper() -> Any:
    """A safe YAML dumper that writes multi-line text (a diff, a log) as a literal block,
    line by line, instead of one escaped string."""
    import yaml

    class Readable(yaml.SafeDumper):
        def analyze_scalar(self, scalar: str) -> Any:
            analysis = super().analyze_scalar(scalar)
            # PyYAML refuses a block for text with trailing spaces on a line (a diff's
            # blank context line is a single space), though YAML keeps them in a literal
            # block; printable text not ending in a space is safe.
            if analysis.multiline and not analysis.allow_block and _block_safe(scalar):
                analysis.allow_block = True
            return analysis

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value and _block_safe(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Readable.add_representer(str, text)
    return Readable


def _block_safe(text: str) -> bool:
    """Text a literal block holds exactly: printable lines (tabs too), no trailing blank at
    the very end."""
    return not text.endswith((" ", "\t")) and all(
        line.replace("\t", "").isprintable() for line in text.split("\n"))


def emit(data: Any, fmt: str) -> None:
    """JSON or YAML as asked; for ``rich``, YAML (readable) unless a table is given."""
    typer.echo(dump(data, "yaml" if fmt == "rich" else fmt).rstrip("\n"))


def table(rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str = "") -> None:
    if fmt != "rich":
        emit(rows, fmt)
        return
    from rich.console import Console
    from rich.table import Table

    view = Table(title=title or None)
    for column in columns:
        view.add_column(column)
    for row in scrub_data(rows):
        view.add_row(*(str(row.get(column, "")) for column in columns))
    import sys

    # piped output keeps whole values (rich assumes 80 columns without a terminal)
    Console(width=None if sys.stdout.isatty() else 200).print(view)

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

        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return json.dumps(data, indent=2, default=str)


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

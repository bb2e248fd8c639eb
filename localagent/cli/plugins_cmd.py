"""``localagent plugins``: provider plugins, read from package metadata only."""

from __future__ import annotations

from typing import Any

import typer

from localagent.cli.output import table
from localagent.cli.state import state

app = typer.Typer(help="Provider plugins: built-in and installed.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Built-in providers and installed plugins; no plugin code is imported."""
    from importlib.metadata import entry_points

    from providers.registry import ENTRY_POINT_GROUP, builtin_names

    disabled = set(state(ctx).load().settings.plugins.disabled)
    installed = list(entry_points(group=ENTRY_POINT_GROUP))
    rows: list[dict[str, Any]] = [
        {"name": name, "source": "built-in", "value": "", "distribution": "", "version": "",
         "disabled": False}
        for name in builtin_names()]
    for ep in sorted(installed, key=lambda ep: ep.name):
        dist = ep.dist
        shadowed = ep.name in builtin_names()  # the built-in of that name is used
        rows.append({"name": ep.name, "source": "entry point" + (
                         " (shadowed by the built-in)" if shadowed else ""), "value": ep.value,
                     "distribution": dist.name if dist is not None else "",
                     "version": dist.version if dist is not None else "",
                     "disabled": ep.name in disabled})
    fmt = state(ctx).format
    if fmt == "rich":
        rows = [{**row, "disabled": "yes" if row["disabled"] else ""} for row in rows]
    table(rows, ["name", "source", "value", "distribution", "version", "disabled"], fmt,
          title="provider plugins")

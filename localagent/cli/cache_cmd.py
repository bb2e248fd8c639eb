"""``localagent cache``: stats, clear, path (the response cache)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.output import emit
from localagent.cli.state import info, state

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from providers.cache import ResponseCache

app = typer.Typer(help="The response cache of model answers.", no_args_is_help=True)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``30s``, ``15m``, ``24h``, ``7d`` → seconds; ValueError otherwise."""
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration; use a number and a unit: 30s, 15m, "
                         f"24h or 7d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_age(seconds: float) -> str:
    """A rough human age: ``45s``, ``12m``, ``5h``, ``3d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def cache_directory(settings: Settings) -> Path:
    """``caching.directory`` if set, else the default response cache directory."""
    from providers.cache import cache_directory as directory_of

    return directory_of(settings.caching)


def _open(settings: Settings) -> ResponseCache:
    from providers.cache import ResponseCache

    return ResponseCache(settings.caching, directory=cache_directory(settings))


@app.command("stats")
def stats(ctx: typer.Context) -> None:
    """Entries, size on disk, directory, and the age of the oldest and newest entries."""
    settings = state(ctx).load().settings
    directory, policy = cache_directory(settings), settings.caching
    data: dict[str, Any] = {"directory": str(directory), "enabled": policy.enabled,
                            "entries": 0, "bytes": 0, "oldest": None, "newest": None}
    if directory.is_dir():  # reading stats must not create the cache
        cache = _open(settings)
        try:
            data.update(cache.stats())
        finally:
            cache.close()
    now = time.time()
    for end in ("oldest", "newest"):
        stamp = data.pop(end)
        data[f"{end}_age_seconds"] = round(now - stamp, 1) if stamp is not None else None
    fmt = state(ctx).format
    if fmt != "rich":
        emit(data, fmt)
        return
    ages = {end: format_age(data[f"{end}_age_seconds"])
            if data[f"{end}_age_seconds"] is not None else "-" for end in ("oldest", "newest")}
    typer.echo(f"directory  {data['directory']}{'' if policy.enabled else '  (disabled)'}\n"
               f"entries    {data['entries']}\n"
               f"size       {data['bytes']:,} bytes\n"
               f"oldest     {ages['oldest']}\n"
               f"newest     {ages['newest']}")


@app.command("clear")
def clear(ctx: typer.Context,
          older_than: str = typer.Option(None, "--older-than",
                                         help="only entries older than this: 30s, 15m, 24h, "
                                              "7d")) -> None:
    """Remove cached answers (all, or only the old ones); they are only a cache, so
    nothing is asked."""
    seconds: float | None = None
    if older_than is not None:
        try:
            seconds = parse_duration(older_than)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--older-than'") from None
    settings = state(ctx).load().settings
    directory = cache_directory(settings)
    if not directory.is_dir():
        info(ctx, f"the cache at {directory} is empty")
        return
    cache = _open(settings)
    try:
        removed = cache.clear(older_than=seconds)
    finally:
        cache.close()
    info(ctx, f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {directory}")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Where the response cache is kept."""
    typer.echo(str(cache_directory(state(ctx).load().settings)))

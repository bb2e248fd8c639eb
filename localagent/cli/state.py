"""What the global options set, shared by every command through ``ctx.obj``."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from localagent.config.loader import Loaded


T = TypeVar("T")


@dataclass
class AppState:
    config_file: Path | None = None
    working_dir: Path | None = None
    format: str = "rich"
    format_given: bool = False          # --format was typed (not the default)
    provider: str | None = None         # --provider, as typed
    log_level: str | None = None
    debug: bool = False
    quiet: bool = False
    flags: dict[str, Any] = field(default_factory=dict)
    _loaded: Loaded | None = None

    def load(self) -> Loaded:
        """The configuration for this invocation (loaded once); errors exit 2."""
        if self._loaded is None:
            from localagent.config.loader import load
            from providers.registry import disable

            self._loaded = load(cwd=self.working_dir, config_file=self.config_file,
                                flags=self.flags)
            disable(self._loaded.settings.plugins.disabled)  # the process's plugin registry
        return self._loaded

    @property
    def cwd(self) -> Path:
        return (self.working_dir or Path.cwd()).resolve()


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):
        obj = AppState()
        ctx.find_root().obj = obj
    return obj


def info(ctx: typer.Context, message: str) -> None:
    """A human note on stderr (quiet hides it); stdout stays for data."""
    if not state(ctx).quiet:
        typer.echo(message, err=True)


def fail(message: str, code: int = 2) -> NoReturn:
    from localagent.redact import scrub

    typer.echo(f"error: {scrub(message)}", err=True)
    raise typer.Exit(code)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, with asyncio imported only by the commands that need it."""
    import asyncio

    return asyncio.run(work)

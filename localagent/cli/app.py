"""The ``localagent`` command. Subcommands import what they need when they run, so that
``localagent --help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from localagent import __version__
from localagent.cli.lazy import COMMANDS
from localagent.cli.options import (
    apply,
    polish_help,
    polish_param,
    setup_logging,
    spread_globals,
)
from localagent.cli.state import AppState

HELP_NAMES = ["-h", "--help"]


class GuardedGroup(TyperGroup):
    """Runs a command and turns the errors users meet into one line and an exit code;
    --debug adds the (scrubbed) traceback. Global options work after the subcommand too."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        spread_globals(self)
        polish_help(self, HELP_NAMES)
        self._listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: typer.Context, name: str) -> Any:  # type: ignore[override]
        """A subcommand, its module imported when it runs; the root's help lists a
        placeholder with its one-line help instead."""
        if name in self.commands or name not in COMMANDS:
            return super().get_command(ctx, name)
        if self._listing:
            return COMMANDS[name].placeholder(name)
        command = COMMANDS[name].load(name)
        self.add_command(command, name)
        spread_globals(self, [command])
        polish_help(command, HELP_NAMES)
        return command

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params = super().get_params(ctx)
        for param in params:  # --install-completion and the like arrive after __init__
            polish_param(param)
        return params

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:  # type: ignore[override]
        """``localagent "fix the tests"`` is ``localagent workflow run "fix the tests"``
        (and ``localagent - < task.md`` reads the request from stdin)."""
        if args and args[0] not in self.list_commands(ctx) and (
                args[0] == "-" or not args[0].startswith("-")):
            return "workflow", self.get_command(ctx, "workflow"), ["run", *args]
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, typer.Exit | typer.Abort) or type(exc).__module__.startswith(
                    "typer."):  # usage errors and exits: the CLI library reports them
                raise
            if isinstance(exc, BrokenPipeError):  # `localagent ... | head`: not an error
                import os

                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise typer.Exit(0) from None
            from localagent.redact import format_exception, scrub, scrub_exception

            scrub_exception(exc)
            debug = isinstance(ctx.obj, AppState) and ctx.obj.debug
            if debug:
                typer.echo(format_exception(exc), err=True)
            code = _exit_code(exc)
            prefix = "error" if code is not None else f"unexpected error ({type(exc).__name__})"
            typer.echo(f"{prefix}: {scrub(str(exc))}", err=True)
            if code is None and not debug:
                typer.echo("run again with --debug for the traceback", err=True)
            raise typer.Exit(code if code is not None else 1) from None


app = typer.Typer(name="localagent", no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=GuardedGroup,
                  help="Local-first agent workflow runner. Start with: localagent \"fix the "
                  "failing test\" (runs the workflow on the working directory).",
                  context_settings={"help_option_names": HELP_NAMES})
# The subcommands: ``localagent.cli.lazy.COMMANDS``, imported when they run.



def _version(value: bool) -> None:
    if value:
        typer.echo(f"localagent {__version__}")
        raise typer.Exit()


@app.callback()
def root(ctx: typer.Context,
         config: Path = typer.Option(None, "--config", help="extra config file (above the "
                                     "project file)", envvar="LOCALAGENT_CONFIG"),
         working_dir: Path = typer.Option(None, "--working-dir", "-C",
                                          help="run as if started in this directory"),
         provider: str = typer.Option(None, "--provider", help="provider spec, chain or "
                                      "chain name for this run (system.default_provider)"),
         fmt: str = typer.Option("rich", "--format", help="output: rich | json | yaml"),
         log_level: str = typer.Option(None, "--log-level",
                                       help="DEBUG | INFO | WARNING | ERROR"),
         debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="only data on stdout"),
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="print the version"),
         ) -> None:
    from typer._click.core import ParameterSource

    app_state = AppState()
    ctx.obj = app_state
    given = {"fmt": fmt, "config": config, "working_dir": working_dir, "provider": provider,
             "log_level": log_level, "debug": debug, "quiet": quiet}
    for name, value in given.items():
        if value is not None and value is not False:
            apply(app_state, name, value)
    app_state.format_given = ctx.get_parameter_source("fmt") is ParameterSource.COMMANDLINE
    if log_level is None:
        setup_logging(None)


def _exit_code(exc: BaseException) -> int | None:
    """Exit code for the errors users cause or meet (None: a bug)."""
    from localagent.config.errors import ConfigError
    from localagent.keys.stores import KeyStoreError
    from localagent.security.denied import PolicyDenied

    if isinstance(exc, ConfigError | KeyStoreError | PolicyDenied):
        return 2
    from providers.errors import AllProvidersFailed  # DeadlineExceeded is one too

    if isinstance(exc, AllProvidersFailed):
        return 4
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point (the ``localagent`` script)."""
    code: Any = 0
    try:
        app(args=argv, prog_name="localagent")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except SystemExit as exc:
        code = exc.code
    if code == 130:  # stopped: a worker thread still busy must not hold the exit up
        from localagent.cli.stopping import leave

        leave(130)
    sys.exit(code)

"""The ``localagent`` command. Subcommands import what they need when they run, so that
``localagent --help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from localagent import __version__
from localagent.cli import (
    cache_cmd,
    chat_cmd,
    config_cmd,
    health_cmd,
    init_cmd,
    keys_cmd,
    models_cmd,
    plugins_cmd,
    providers_cmd,
    workflow_cmd,
)
from localagent.cli.state import AppState


class GuardedGroup(TyperGroup):
    """Runs a command and turns the errors users meet into one line and an exit code;
    ``--debug`` adds the (scrubbed) traceback."""

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:  # type: ignore[override]
        """``localagent "fix the tests"`` is ``localagent workflow run "fix the tests"``."""
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "workflow", self.commands["workflow"], ["run", *args]
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, typer.Exit | typer.Abort) or type(exc).__module__.startswith(
                    "typer."):  # usage errors and exits: the CLI library reports them
                raise
            from localagent.redact import format_exception, scrub, scrub_exception

            scrub_exception(exc)
            if _debug:
                typer.echo(format_exception(exc), err=True)
            code = _exit_code(exc)
            prefix = "error" if code is not None else f"unexpected error ({type(exc).__name__})"
            typer.echo(f"{prefix}: {scrub(str(exc))}", err=True)
            if code is None and not _debug:
                typer.echo("run again with --debug for the traceback", err=True)
            raise typer.Exit(code if code is not None else 1) from None


app = typer.Typer(name="localagent", no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=GuardedGroup,
                  help="Local-first agent workflow runner. Start with: localagent \"fix the "
                  "failing test\" (runs the workflow on the working directory).",
                  context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(workflow_cmd.app, name="workflow")
app.command("chat")(chat_cmd.chat)
app.add_typer(providers_cmd.app, name="providers")
app.add_typer(models_cmd.app, name="models")
app.add_typer(cache_cmd.app, name="cache")
app.command("health")(health_cmd.health)
app.command("doctor", hidden=True)(health_cmd.health)
app.add_typer(plugins_cmd.app, name="plugins")
app.add_typer(config_cmd.app, name="config")
app.add_typer(keys_cmd.app, name="keys")
app.command("init")(init_cmd.init)

FORMATS = ("rich", "json", "yaml")
_debug = False


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
         fmt: str = typer.Option("rich", "--format", help="rich | json | yaml"),
         log_level: str = typer.Option(None, "--log-level", help="DEBUG | INFO | WARNING"),
         debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="only data on stdout"),
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="print the version"),
         ) -> None:
    global _debug
    _debug = debug
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    if working_dir is not None and not working_dir.is_dir():
        raise typer.BadParameter(f"{working_dir} is not a directory",
                                 param_hint="--working-dir")
    flags: dict[str, Any] = {"logging": {"level": log_level}} if log_level else {}
    if provider:
        flags["system"] = {"default_provider": provider}
    ctx.obj = AppState(config_file=config, working_dir=working_dir, format=fmt,
                       log_level=log_level, debug=debug, quiet=quiet, flags=flags)
    _setup_logging(log_level)


def _setup_logging(level: str | None) -> None:
    import logging

    from localagent.redact import install_log_redaction

    install_log_redaction()
    logging.basicConfig(level=(level or "WARNING").upper(), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


def _exit_code(exc: BaseException) -> int | None:
    """Exit code for the errors users cause or meet (None: a bug)."""
    from localagent.config.errors import ConfigError
    from localagent.keys.stores import KeyStoreError
    from localagent.security.denied import PolicyDenied

    if isinstance(exc, ConfigError | KeyStoreError | PolicyDenied):
        return 2
    if type(exc).__name__ == "AllProvidersFailed":
        return 4
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point (the ``localagent`` script)."""
    try:
        app(args=argv, prog_name="localagent")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)

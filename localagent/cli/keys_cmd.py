"""``localagent keys``: set, get, list, delete, rotate, path, migrate."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from localagent.cli.output import table
from localagent.cli.state import fail, info, is_interactive, state

if TYPE_CHECKING:
    from localagent.keys.manager import KeyManager

app = typer.Typer(help="API keys: OS keyring when it is secure, else an encrypted file.",
                  no_args_is_help=True)


def _manager(ctx: typer.Context) -> KeyManager:
    from localagent.keys.manager import KeyManager

    return KeyManager(state(ctx).load().settings.security)


def _announce(ctx: typer.Context, manager: KeyManager) -> None:
    if manager.notice:
        info(ctx, manager.notice)


def _read_secret(name: str, value: str | None, *, confirm: bool = True) -> str:
    """``--value``, else stdin when it is not a terminal, else a hidden prompt."""
    if value == "-" or (value is None and not sys.stdin.isatty()):
        value = sys.stdin.readline().strip()
    elif value is None:
        value = typer.prompt(f"key for {name}", hide_input=True, confirmation_prompt=confirm)
    if not value or not value.strip():
        fail(f"no key given for {name!r}")
    return value.strip()


def _no_such_key(ctx: typer.Context, name: str) -> NoReturn:
    names = [key.name for key in _manager(ctx).list()]
    stored = f"stored: {', '.join(names)}" if names else "no keys are stored yet"
    fail(f"no stored key named {name!r} ({stored}; add one with 'localagent keys set NAME')")


@app.command("set")
def set_(ctx: typer.Context, name: str = typer.Argument(..., help="provider, e.g. openai"),
         value: str = typer.Option(None, "--value", help="the key ('-' reads stdin); "
                                   "default: hidden prompt, or stdin when piped")) -> None:
    """Store a key (hidden prompt, --value, or stdin for scripts)."""
    manager = _manager(ctx)
    secret = _read_secret(name, value)
    store = manager.set(name, secret)
    _announce(ctx, manager)
    info(ctx, f"stored key {name!r} in the {store} store")


@app.command("get")
def get(ctx: typer.Context, name: str = typer.Argument(..., help="the key's name"),
        show: bool = typer.Option(False, "--show", help="print the whole key")) -> None:
    """Print a key, masked unless --show."""
    from localagent.keys.manager import mask

    manager = _manager(ctx)
    secret = manager.get(name, purpose="show" if show else "read")
    if secret is None:
        _no_such_key(ctx, name)
    typer.echo(secret if show else mask(secret))


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Stored keys, masked, with the store each is in."""
    manager = _manager(ctx)
    rows = [{"name": k.name, "store": k.store, "key": k.masked} for k in manager.list()]
    table(rows, ["name", "store", "key"], state(ctx).format, title="stored keys")


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(..., help="the key's name"),
           yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Remove a key from every store."""
    if not yes and is_interactive() and not typer.confirm(f"delete the key {name!r}?"):
        raise typer.Exit(1)
    if not _manager(ctx).delete(name):
        _no_such_key(ctx, name)
    info(ctx, f"deleted key {name!r}")


@app.command("rotate")
def rotate(ctx: typer.Context,
           name: str = typer.Argument(None, help="key to replace with a new value"),
           value: str = typer.Option(None, "--value", help="the new key ('-' reads stdin)"),
           master: bool = typer.Option(False, "--master",
                                       help="re-encrypt the key file under a new master key"),
           ) -> None:
    """Replace a key with a new one, or (--master) the encrypted file's master key."""
    manager = _manager(ctx)
    if master:
        from localagent.keys.choose import file_store

        passphrase = None
        if file_store().uses_passphrase:
            passphrase = _read_secret("the new LOCALAGENT_MASTER_KEY", value)
        manager.rotate_master(passphrase)
        info(ctx, "re-encrypted the key store under a new master key"
             + ("; set LOCALAGENT_MASTER_KEY to the new passphrase" if passphrase else ""))
        return
    if not name:
        fail("name the key to rotate, or use --master")
    manager.rotate(name, _read_secret(name, value))
    info(ctx, f"rotated key {name!r}")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Where keys are kept, and why that store."""
    manager = _manager(ctx)
    store = manager.store
    typer.echo(store.location)
    info(ctx, f"{store.name} store ({manager.reason}); audit log: {manager.audit.path}")


@app.command("migrate")
def migrate(ctx: typer.Context,
            dry_run: bool = typer.Option(False, "--dry-run", help="only list what would move"),
            ) -> None:
    """Move plaintext API keys from config files into the key store (files backed up)."""
    from localagent import paths
    from localagent.keys.migrate import migrate_file

    st = state(ctx)
    manager = _manager(ctx)
    files = [paths.user_config_file(), paths.project_config_file(st.cwd), st.config_file]
    moved = 0
    for file in dict.fromkeys(f for f in files if f is not None and f.is_file()):
        names = migrate_file(file, manager, dry_run=dry_run)
        moved += len(names)
        if names:
            verb = "would move" if dry_run else "moved"
            info(ctx, f"{file}: {verb} {', '.join(names)} into the key store")
    _announce(ctx, manager)
    if not moved:
        info(ctx, "no plaintext API keys found in config files")
    elif not dry_run:
        info(ctx, "the .bak-* copies still hold the plaintext keys: delete them once checked")

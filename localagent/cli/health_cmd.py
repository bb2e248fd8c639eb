"""``localagent health`` (alias ``doctor``): is this installation ready to run a workflow?"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.output import emit
from localagent.cli.state import state

if TYPE_CHECKING:
    from localagent.config.schema import Settings

MIN_FREE_BYTES = 1 << 30  # below this, checkpoints and the cache may fail to write
_STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


@dataclass
class Check:
    check: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""


def _size(path: Path) -> int:
    """Bytes in a file or under a directory (files removed meanwhile count as 0)."""
    files = [path] if path.is_file() else [
        Path(root) / name for root, _, names in os.walk(path) for name in names]
    total = 0
    for file in files:
        with contextlib.suppress(OSError):
            total += file.stat().st_size
    return total


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (where it would be created)."""
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(path: Path) -> bool:
    return os.access(_existing(path), os.W_OK)


def check_config(ctx: typer.Context) -> tuple[Check, Settings]:
    """The configuration loads; with a broken one, later checks run on the defaults."""
    from localagent.config.errors import ConfigError
    from localagent.config.schema import Settings

    try:
        loaded = state(ctx).load()
    except ConfigError as exc:
        return Check("config", "fail", str(exc),
                     "correct the file or variable named above ('localagent config validate' "
                     "lists every problem); the checks below use the defaults"), \
            Settings.model_construct()
    files = [layer.where for layer in loaded.layers if layer.where]
    return Check("config", "ok", f"valid ({', '.join(files) or 'defaults and environment'})"), \
        loaded.settings


def check_key_store(settings: Settings) -> Check:
    from localagent.keys.choose import choose_store
    from localagent.keys.stores import KeyStoreError

    try:
        store, reason = choose_store(settings.security.key_store,
                                     settings.security.keyring_service)
        count = len(store.names())
    except KeyStoreError as exc:
        return Check("key store", "fail", str(exc),
                     "see 'localagent keys path'; security.key_store: file uses the encrypted "
                     "file instead of the OS keyring")
    return Check("key store", "ok", f"{store.name} store at {store.location}, {count} key"
                 f"{'s' * (count != 1)} ({reason})")


def _provider_hint(row: dict[str, Any]) -> str:
    name = row["provider"]
    if not row["set_up"]:
        if name == "local":
            return "configure another provider: 'localagent init' or --provider"
        if name == "openai-compatible":
            return f"set providers.{name}.base_url to the server's /v1 URL"
        return f"store a key with 'localagent keys set {name}', or see 'localagent providers list'"
    if row["auth_ok"] is False:
        return f"the API key was refused: 'localagent keys rotate {name}'"
    if name == "ollama":
        return "start Ollama ('ollama serve') or point OLLAMA_HOST at it"
    return f"check providers.{name}.base_url and the network"


def check_providers(ctx: typer.Context, settings: Settings, timeout: float) -> list[Check]:
    """One line per provider of the default chain, then whether any of them is usable."""
    from localagent.cli.providers_cmd import chain_of, filled_settings, probe_chain
    from localagent.keys.stores import KeyStoreError

    specs = chain_of(settings)
    try:
        config = filled_settings(settings).providers_config()
    except KeyStoreError:  # reported by the key store check; env and config keys still work
        config = settings.providers_config()
    rows = probe_chain(config, specs, timeout, quiet_logs=state(ctx).log_level is None)
    checks: list[Check] = []
    for row in rows:
        usable = row["reachable"] is True and row["auth_ok"] is not False
        if usable:
            detail = f"reachable in {row['latency'] * 1000:.0f} ms, {row['models']} models"
        elif not row["set_up"]:
            detail = f"not set up: {row['error']}"
        else:
            detail = f"{'reachable but ' if row['reachable'] else 'unreachable: '}{row['error']}"
        checks.append(Check(f"provider {row['name']}", "ok" if usable else "warn", detail,
                            "" if usable else _provider_hint(row)))
    usable_rows = [row for row, check in zip(rows, checks, strict=True) if check.status == "ok"]
    if usable_rows:
        checks.append(Check("usable provider", "ok",
                            f"{usable_rows[0]['name']} is used first ({len(usable_rows)} of "
                            f"{len(rows)} in the default chain usable)"))
    else:
        checks.append(Check("usable provider", "fail",
                            f"none of {', '.join(specs) or 'the default chain'} can be used",
                            "run 'localagent init', or fix one provider above; 'localagent "
                            "providers list' shows what is configured"))
    return checks


def check_checkpoints(settings: Settings) -> Check:
    import sqlite3

    from localagent.checkpoints import (
        CheckpointStoreError,
        checkpoint_url,
        describe,
        is_postgres,
        postgres_status,
    )

    url = checkpoint_url(settings)
    if is_postgres(url):
        try:
            return Check("checkpoint db", "ok", f"{describe(settings)} ({postgres_status(url)})")
        except CheckpointStoreError as exc:
            return Check("checkpoint db", "fail", str(exc),
                         "start PostgreSQL or fix system.checkpoint_url")
    path = Path(url)
    if not _writable(path.parent):
        return Check("checkpoint db", "fail", f"{_existing(path.parent)} is not writable",
                     "fix its permissions or set system.checkpoint_url to a writable path")
    if not path.exists():
        return Check("checkpoint db", "ok", f"{path} (created on the first run)")
    try:  # read-only: a check must not create or change the database
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return Check("checkpoint db", "fail", f"{path}: {exc}",
                     "move it away (threads in it are lost; a new one is created)")
    return Check("checkpoint db", "ok", f"{path} ({_human(_size(path))})")


def check_shared_state(settings: Settings) -> Check | None:
    """Redis behind ``system.shared_state_url`` answers (None when none is configured)."""
    url = settings.system.shared_state_url
    if not url:
        return None
    from providers.shared_store import SharedStore, redacted_url

    store = SharedStore(url, settings.system.shared_state_prefix)
    try:
        seconds = store.ping()
    except Exception as exc:  # any failure to reach it is the finding
        return Check("shared state", "warn", f"{redacted_url(url)}: {exc}",
                     "start Redis or fix system.shared_state_url; until then each process "
                     "keeps its own breakers, rate limits and cache")
    finally:
        store.close()
    return Check("shared state", "ok", f"{redacted_url(url)} (ping {seconds * 1000:.1f} ms)")


def check_cache(settings: Settings) -> Check:
    from localagent.cli.cache_cmd import cache_directory

    directory = cache_directory(settings)
    if not settings.caching.enabled:
        return Check("cache dir", "ok", f"{directory} (caching disabled)")
    if not _writable(directory):
        return Check("cache dir", "fail", f"{_existing(directory)} is not writable",
                     "fix its permissions or set caching.directory")
    size = _human(_size(directory)) if directory.exists() else "not created yet"
    return Check("cache dir", "ok", f"{directory} ({size})")


def check_embedded(chain: list[str], settings: Settings) -> Check:
    # find_spec only: importing llama_cpp loads a native library, far too slow for a check.
    used = any(spec.partition(":")[0] == "local" for spec in chain)
    local = settings.providers.get("local")
    configured = Path(local.model_path).expanduser() if local and local.model_path else None
    if configured is not None and not configured.is_file():
        return Check("embedded model", "warn",  # "usable provider" fails if nothing else is
                     f"providers.local.model_path {configured} does not exist",
                     "point providers.local.model_path at a GGUF file")
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("embedded model", "warn" if used else "ok",
                     "llama_cpp is not installed" + ("" if used else " (not in the default "
                                                     "chain)"),
                     "reinstall LocalAgent as the README says, or take 'local' out of "
                     "system.default_provider" if used else "")
    if configured is not None:
        return Check("embedded model", "ok",
                     f"{configured} ({_human(configured.stat().st_size)})")
    from providers.errors import ProviderError
    from providers.local_files import default_model_file

    try:
        path = default_model_file()
    except ProviderError as exc:
        return Check("embedded model", "warn" if used else "ok", exc.message,
                     "reinstall LocalAgent as the README says")
    if not path.is_file():
        return Check("embedded model", "warn" if used else "ok",
                     f"bundled model not assembled yet ({path})",
                     "localagent models pull-local (otherwise the first use does it)")
    return Check("embedded model", "ok", f"{path} ({_human(path.stat().st_size)})")


def check_sandbox(settings: Settings) -> Check:
    """Which OS sandbox commands run in; without one, project code needs approval."""
    from localagent.security.sandbox import INSTALL_HINT, SandboxUnavailable, choose

    try:
        sandbox, why = choose(settings.security.sandbox)
    except SandboxUnavailable as exc:
        return Check("sandbox", "fail", str(exc), f"{INSTALL_HINT}, or set security.sandbox: "
                     "auto")
    if sandbox is not None:
        network = "network allowed" if settings.security.allow_network else "no network"
        fallback = sandbox.name == "landlock" and settings.security.sandbox == "auto"
        return Check("sandbox", "ok", f"{sandbox.describe()}, {network}",
                     f"{INSTALL_HINT} (a private /tmp and PID namespace)" if fallback else "")
    return Check("sandbox", "warn", f"missing: {why}; commands that run project code (tests, "
                 "make, npm scripts) will ask for approval each time",
                 INSTALL_HINT if settings.security.sandbox == "auto" else
                 "set security.sandbox: auto")


def check_disk() -> Check:
    from localagent import paths

    where = _existing(paths.data_dir())
    free = shutil.disk_usage(where).free
    if free < MIN_FREE_BYTES:
        return Check("disk space", "warn", f"{_human(free)} free at {where}",
                     "free some space: checkpoints and the cache are written there")
    return Check("disk space", "ok", f"{_human(free)} free at {where}")


def _print(checks: list[Check]) -> None:
    from rich.console import Console
    from rich.text import Text

    from localagent.redact import scrub

    console = Console(highlight=False, soft_wrap=True)
    width = max(len(c.check) for c in checks)
    for c in checks:
        line = Text(f"{c.status:<5}", style=_STATUS_STYLE[c.status])
        line.append(f" {c.check:<{width}}  {scrub(c.detail)}")
        console.print(line)
        if c.hint:
            console.print(Text(f"{'':<{width + 8}}fix: {scrub(c.hint)}", style="dim"))


def health(ctx: typer.Context,
           timeout: float = typer.Option(5.0, "--timeout", min=0.1,
                                         help="seconds per provider probe"),
           ) -> None:
    """Check configuration, key store, providers, checkpoints, cache, sandbox, disk space.

    One line per check (ok, warn or fail, with a fix for the last two); exit 1 if any fails.
    """
    from localagent.cli.providers_cmd import chain_of

    config_check, settings = check_config(ctx)
    checks = [config_check, check_key_store(settings),
              *check_providers(ctx, settings, timeout), check_checkpoints(settings),
              *filter(None, [check_shared_state(settings)]), check_cache(settings),
              check_embedded(chain_of(settings), settings),
              check_sandbox(settings), check_disk()]
    fmt = state(ctx).format
    if fmt == "rich":
        _print(checks)
    else:
        emit([asdict(c) for c in checks], fmt)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)

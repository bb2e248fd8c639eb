"""``localagent providers``: list, health, models."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import typer

from localagent.cli.output import emit, table
from localagent.cli.state import fail, info, state

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from providers.settings import ProvidersConfig

app = typer.Typer(help="The model providers: what is known, configured and reachable.",
                  no_args_is_help=True)

# What a built-in provider cannot work without (the rest run on their defaults).
_REQUIRES = {"openai": "api_key", "gemini": "api_key", "perplexity": "api_key",
             "openai-compatible": "base_url"}


def filled_settings(settings: Settings) -> Settings:
    """``settings`` with the stored API keys filled in, as the workflow sees them."""
    from localagent.keys.manager import KeyManager

    return KeyManager(settings.security).fill(settings)


def chain_of(settings: Settings, spec: str | None = None) -> list[str]:
    """The provider specs of ``spec`` (a spec, list or chain name), else the default chain."""
    from providers.errors import ProviderError
    from providers.factory import expand_chain

    # Settings.default_chain() leaves chain names as they are: expand them here.
    items = [spec] if spec else settings.default_chain()
    try:
        return expand_chain(items, settings.providers_config())
    except ProviderError:
        return []


@contextlib.contextmanager
def provider_logs_quiet(enabled: bool = True) -> Iterator[None]:
    """Keep the provider layer's warnings (e.g. Ollama's context-length probe) out of a
    report that already says what went wrong; ``--log-level`` shows them again."""
    logger = logging.getLogger("providers")
    previous = logger.level
    if enabled:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def probe(spec: str, config: ProvidersConfig, timeout: float) -> dict[str, Any]:
    """Reachability, auth, latency, model count and breaker state of one chain entry."""
    from providers.candidates import describe
    from providers.errors import classify
    from providers.factory import client_for
    from providers.guards import all_breakers
    from providers.health import check_model
    from providers.registry import parse_spec

    provider, _ = parse_spec(spec)
    row: dict[str, Any] = {"spec": spec, "provider": provider, "name": spec, "set_up": False,
                           "reachable": False, "auth_ok": None, "latency": None, "models": 0,
                           "breaker": "closed", "error": None}
    try:
        client = client_for(spec, config)
    except Exception as exc:  # not set up (ProviderError), or a plugin that fails to load
        row["error"] = classify(exc, provider=provider).message
        return row
    row["set_up"] = True
    row["name"] = describe(client)[1]
    row["breaker"] = next((b.state.value for b in all_breakers() if b.name == row["name"]),
                          "closed")
    try:
        result = check_model(client, timeout)
    except Exception as exc:  # a plugin's health check must not take the report down
        result = {"reachable": False, "error": classify(exc, provider=provider).message}
    latency = result.get("latency")
    row.update(reachable=result.get("reachable"), auth_ok=result.get("auth_ok"),
               latency=round(latency, 3) if isinstance(latency, int | float) else None,
               models=len(result.get("models") or []), error=result.get("error"))
    return row


def probe_chain(config: ProvidersConfig, specs: list[str], timeout: float, *,
                quiet_logs: bool = True) -> list[dict[str, Any]]:
    """``probe`` for every spec, in parallel, in chain order."""
    from concurrent.futures import ThreadPoolExecutor

    if not specs:
        return []
    with provider_logs_quiet(quiet_logs), ThreadPoolExecutor(min(len(specs), 8)) as pool:
        return list(pool.map(lambda spec: probe(spec, config, timeout), specs))


def _public_url(url: str) -> str:
    """A URL without any user:password part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _setup(name: str, settings: Settings, stored: dict[str, str], origin: Any
           ) -> tuple[bool, str]:
    """Is ``name`` configured, and how (never the key itself). ``stored``: key name → the
    store holding it."""
    current = settings.providers.get(name)
    parts: list[str] = []
    if current is not None and current.api_key is not None:
        parts.append(f"API key from {origin(('providers', name, 'api_key'))}")
    elif name in stored:
        parts.append(f"API key from the {stored[name]} store")
    has_key = bool(parts)
    url = current.base_url if current is not None else None
    if url:
        parts.append(f"base_url {_public_url(url)}")
    needs = _REQUIRES.get(name)
    if (needs == "api_key" and not has_key) or (needs == "base_url" and not url):
        return False, "; ".join([*parts, f"needs {needs}"])
    return True, "; ".join(parts) or "defaults"


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "?")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every known provider: configured?, in the default chain?, default model, breaker."""
    from localagent.keys.manager import KeyManager
    from providers.guards import all_breakers
    from providers.registry import get_plugin, parse_spec, provider_names

    loaded = state(ctx).load()
    settings = loaded.settings
    config = settings.providers_config()
    # Which keys are stored, not their use: listing must not audit-log a "key_use".
    stored = {key.name: key.store for key in KeyManager(settings.security).list()}
    chain = chain_of(settings)
    breakers = {b.name: b.state.value for b in all_breakers()}
    rows: list[dict[str, Any]] = []
    for name in provider_names():
        if name in settings.plugins.disabled:
            continue
        description, default_model = "", None
        try:
            plugin = get_plugin(name)
            description, default_model = plugin.description, plugin.default_model
        except Exception as exc:  # a broken third-party plugin: list it, say why
            description = f"cannot load: {exc}"
        configured, setup = _setup(name, settings, stored, loaded.origin)
        positions = [i for i, spec in enumerate(chain, 1) if parse_spec(spec)[0] == name]
        states = [s for n, s in breakers.items() if n == name or n.startswith(f"{name}:")]
        rows.append({"provider": name, "configured": configured, "setup": setup,
                     "chain": positions[0] if positions else None,
                     "default_model": config.for_provider(name).model or default_model,
                     "breaker": next((s for s in ("open", "half_open") if s in states),
                                     "closed"),
                     "description": description})
    fmt = state(ctx).format
    if fmt == "rich":
        rows = [{**row, "configured": _yes_no(row["configured"]),
                 "chain": row["chain"] or "", "default_model": row["default_model"] or ""}
                for row in rows]
    table(rows, ["provider", "configured", "chain", "default_model", "breaker", "setup",
                 "description"], fmt, title=f"providers (default chain: {', '.join(chain)})")
    if any("needs" in row["setup"] for row in rows):
        info(ctx, "store an API key with 'localagent keys set NAME'; point a server-based "
                  "provider at its server with providers.NAME.base_url")


@app.command("health")
def health(ctx: typer.Context,
           timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="seconds per provider"),
           ) -> None:
    """Reachability, auth, latency and models of each provider in the chain (--provider, else
    the default chain); exit 1 if none is reachable. Spends no tokens."""
    st = state(ctx)
    provider = st.provider
    settings = st.load().settings
    specs = chain_of(settings, provider)
    if not specs:
        fail(f"no provider in {provider or settings.system.default_provider!r}", 2)
    rows = probe_chain(filled_settings(settings).providers_config(), specs, timeout,
                       quiet_logs=st.log_level is None)
    fmt = st.format
    if fmt == "rich":
        view = [{"provider": row["name"], "reachable": _yes_no(row["reachable"]),
                 "auth": _yes_no(row["auth_ok"]),
                 "latency": f"{row['latency'] * 1000:.0f} ms" if row["latency"] is not None
                 else "", "models": row["models"] if row["set_up"] else "",
                 "breaker": row["breaker"], "error": row["error"] or ""} for row in rows]
        table(view, ["provider", "reachable", "auth", "latency", "models", "breaker", "error"],
              fmt, title="provider health")
    else:
        emit(rows, fmt)
    if not any(row["reachable"] for row in rows):
        raise typer.Exit(1)


@app.command("models")
def models(ctx: typer.Context,
           provider: str = typer.Argument(None, help="provider name (default: each provider "
                                                     "of the default chain)"),
           timeout: float = typer.Option(10.0, "--timeout", min=0.1,
                                         help="seconds per provider"),
           ) -> None:
    """The models a provider offers."""
    from providers.registry import parse_spec

    st = state(ctx)
    settings = st.load().settings
    names = [parse_spec(provider)[0]] if provider else list(
        dict.fromkeys(parse_spec(spec)[0] for spec in chain_of(settings)))
    if not names:
        fail(f"no provider in {settings.system.default_provider!r}", 2)
    config = filled_settings(settings).providers_config()
    with provider_logs_quiet(st.log_level is None):
        results = [_models_of(name, config, timeout) for name in names]
    fmt = st.format
    if fmt == "rich":
        rows = [{"provider": r["provider"], "model": model,
                 "default": "*" if model == r["default"] else ""}
                for r in results for model in r["models"]]
        rows += [{"provider": r["provider"], "model": f"error: {r['error']}"}
                 for r in results if r["error"]]
        table(rows, ["provider", "model", "default"], fmt, title="models")
    else:
        emit(results, fmt)
    if all(r["error"] for r in results):
        raise typer.Exit(1)


def _models_of(name: str, config: ProvidersConfig, timeout: float) -> dict[str, Any]:
    from providers.errors import classify
    from providers.registry import get_plugin

    result: dict[str, Any] = {"provider": name, "default": None, "models": [], "error": None}
    try:
        plugin = get_plugin(name)
        settings = config.for_provider(name)
        result["default"] = settings.model or plugin.default_model
        if plugin.list_models is None:
            result["error"] = f"{name} cannot list its models"
        else:
            result["models"] = sorted(plugin.list_models(settings, timeout))
    except Exception as exc:  # reported per provider: one bad provider must not hide others
        result["error"] = classify(exc, provider=name).message
    return result

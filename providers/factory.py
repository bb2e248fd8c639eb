"""get_chat_model: provider specs and named chains → one ResilientChatModel.

Provider clients are built once per process and reused, so HTTP connections are pooled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel

from providers.errors import AllProvidersFailed, Attempt, ProviderError, ProviderUnavailable
from providers.registry import get_plugin, parse_spec
from providers.resilient import ResilientChatModel
from providers.settings import ProvidersConfig

log = logging.getLogger(__name__)
_clients: dict[tuple[str, str, str], BaseChatModel] = {}
_clients_lock = threading.Lock()

ChainSpec = str | Sequence[str] | None


def expand_chain(spec: ChainSpec, config: ProvidersConfig) -> list[str]:
    """A chain name, ``"a:m1,b:m2"``, a list of specs, or None (the default chain)."""
    items = list(config.default_chain) if spec is None else (
        [spec] if isinstance(spec, str) else list(spec))  # the default may name a chain too
    result: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if part in config.chains:
                result.extend(config.chains[part])
            else:
                result.append(part)
    if not result:
        raise ProviderUnavailable(f"provider chain {spec!r} names no provider")
    return result


def client_for(spec: str, config: ProvidersConfig) -> BaseChatModel:
    """The process-wide client for one ``provider:model`` spec."""
    provider, model = parse_spec(spec)
    plugin = get_plugin(provider)
    settings = config.for_provider(provider)
    model = model or settings.model or plugin.default_model
    if not model:
        raise ProviderUnavailable(f"{spec!r}: no model given and {provider} has no default",
                                  provider=provider)
    key = (provider, model, settings.model_dump_json())
    with _clients_lock:
        client = _clients.get(key)
    if client is None:
        client = plugin.build(model, settings)
        with _clients_lock:
            client = _clients.setdefault(key, client)
    return client


def get_chat_model(spec: ChainSpec = None, *, config: ProvidersConfig | None = None,
                   **options: Any) -> ResilientChatModel:
    """The resilient chat model for a chain. Providers that cannot be built (no key, not
    installed) are left out with a warning; if none can, the error lists why for each."""
    config = config or ProvidersConfig()
    models: list[BaseChatModel] = []
    failures: list[Attempt] = []
    policies = {}
    for item in expand_chain(spec, config):
        provider, _ = parse_spec(item)
        try:
            models.append(client_for(item, config))
        except ProviderError as exc:
            failures.append(Attempt(item, "unavailable", message=exc.message))
            log.warning("provider %s left out of the chain: %s", item, exc.message)
            continue
        settings = config.providers.get(provider)
        if settings is not None and "policy" in settings.model_fields_set:
            policies[provider] = settings.policy
        elif (default := get_plugin(provider).policy) is not None:
            policies[provider] = default
        elif settings is not None:
            policies[provider] = settings.policy
    if not models:
        raise AllProvidersFailed(failures, reason="no provider in the chain could be set up")
    from providers.shared_store import shared_store

    kwargs: dict[str, Any] = {"models": models, "policies": policies, "deadline": config.deadline,
                              "cache_policy": config.cache, "prices": config.prices,
                              "shared_store": shared_store(config.shared_state_url,
                                                           config.shared_state_prefix),
                              **options}
    return ResilientChatModel(**kwargs)


def clear_clients() -> None:
    with _clients_lock:
        _clients.clear()

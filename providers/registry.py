"""Provider plugins, register-style: built-ins are imported only when first used, and
third-party packages add providers through the ``localagent.providers`` entry-point group."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from providers.errors import ProviderUnavailable
from providers.policy import ProviderPolicy
from providers.settings import ProviderSettings

if TYPE_CHECKING:  # langchain_core costs ~0.4 s to import; config checks do not need it
    from langchain_core.language_models import BaseChatModel

ENTRY_POINT_GROUP = "localagent.providers"


@dataclass(frozen=True)
class ProviderPlugin:
    """What a provider contributes. ``build`` makes a chat model for one model name."""

    name: str
    build: Callable[[str, ProviderSettings], BaseChatModel]
    default_model: str | None = None
    list_models: Callable[[ProviderSettings, float], list[str]] | None = None
    health: Callable[[Any, float], dict[str, Any]] | None = None
    description: str = ""
    policy: ProviderPolicy | None = None  # used unless the config sets providers.NAME.policy


_BUILTIN = {
    "ollama": "providers.builtin.ollama",
    "openai": "providers.builtin.openai",
    "openai-compatible": "providers.builtin.openai",
    "gemini": "providers.builtin.gemini",
    "perplexity": "providers.builtin.perplexity",
    "local": "providers.builtin.local",
}
_plugins: dict[str, ProviderPlugin] = {}
_disabled: set[str] = set()
_lock = threading.Lock()


def disable(names: set[str] | list[str]) -> None:
    """Installed plugins that must not be loaded (``plugins.disabled`` in the config)."""
    with _lock:
        _disabled.clear()
        _disabled.update(names)


def register(plugin: ProviderPlugin) -> None:
    """Add or replace a provider (plugins call this from their entry point)."""
    with _lock:
        _plugins[plugin.name] = plugin


def builtin_names() -> list[str]:
    """The providers that ship with LocalAgent (they win over a plugin of the same name)."""
    return sorted(_BUILTIN)


def provider_names() -> list[str]:
    """Built-in and installed provider names, without importing any of them."""
    names = set(_BUILTIN) | set(_plugins)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def get_plugin(name: str) -> ProviderPlugin:
    with _lock:
        plugin = _plugins.get(name)
    if plugin is not None:
        return plugin
    if name in _BUILTIN:
        module = importlib.import_module(_BUILTIN[name])
        for plugin in getattr(module, "PLUGINS", ()):
            register(plugin)
    elif name in _disabled:
        raise ProviderUnavailable(f"provider plugin {name!r} is disabled (plugins.disabled)",
                                  provider=name)
    else:
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
            hook = ep.load()
            hook(register)
    with _lock:
        plugin = _plugins.get(name)
    if plugin is None:
        raise ProviderUnavailable(
            f"unknown provider {name!r}; known providers: {', '.join(provider_names())}")
    return plugin


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"openai:gpt-4o-mini"`` → ("openai", "gpt-4o-mini"); ``"ollama"`` → ("ollama", None)."""
    text = spec.strip()
    if not text:
        raise ProviderUnavailable("empty provider spec; expected PROVIDER[:MODEL]")
    provider, _, model = text.partition(":")
    return provider.strip().lower(), (model.strip() or None)

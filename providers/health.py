"""Provider health without spending tokens where the API allows it."""

from __future__ import annotations

from typing import Any

from providers.candidates import describe
from providers.errors import ProviderError
from providers.registry import get_plugin


def check_model(model: Any, timeout: float = 5.0) -> dict[str, Any]:
    """{provider, reachable, auth_ok, models, error, latency} for a built chat model."""
    target = getattr(model, "bound", model)
    provider, _ = describe(target)
    try:
        plugin = get_plugin(provider)
    except ProviderError:
        plugin = None
    if plugin is None or plugin.health is None:
        return {"provider": provider, "reachable": None, "auth_ok": None, "models": [],
                "error": "no health check for this provider", "latency": 0.0}
    return {"provider": provider, **plugin.health(target, timeout)}

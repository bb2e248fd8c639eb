"""Perplexity through ChatPerplexity; its citations are kept in response metadata."""

from __future__ import annotations

import time
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from providers.errors import ProviderUnavailable
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings

DEFAULT_BASE = "https://api.perplexity.ai"
MODELS = ["sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research"]


def build(model: str, settings: ProviderSettings) -> BaseChatModel:
    from langchain_perplexity import ChatPerplexity
    from perplexity import AsyncPerplexity, Perplexity

    key = settings.key("PPLX_API_KEY", "PERPLEXITY_API_KEY")
    if not key:
        raise ProviderUnavailable(
            "no Perplexity API key: set PPLX_API_KEY (or PERPLEXITY_API_KEY) or store one with "
            "`localagent keys set perplexity`", provider="perplexity")
    client_kwargs: dict[str, Any] = {"api_key": key, "max_retries": 0,
                                     "timeout": settings.timeout}
    if settings.base_url:
        client_kwargs["base_url"] = settings.base_url
    kwargs: dict[str, Any] = {
        "model": model, "pplx_api_key": key, "max_retries": 0,
        "request_timeout": settings.timeout,
        "client": Perplexity(**client_kwargs), "async_client": AsyncPerplexity(**client_kwargs),
        **settings.options,
    }
    kwargs.update(settings.sampling())
    return ChatPerplexity(**kwargs)


def list_models(settings: ProviderSettings, timeout: float) -> list[str]:
    return list(MODELS)  # the API has no model listing


def health(model: Any, timeout: float) -> dict[str, Any]:
    """Perplexity has no free authenticated endpoint: reachability only, auth unknown."""
    started = time.monotonic()
    base = str(getattr(getattr(model, "client", None), "base_url", "") or DEFAULT_BASE)
    try:
        httpx.get(base, timeout=timeout)
    except httpx.HTTPError as exc:
        return {"reachable": False, "auth_ok": None, "models": [], "error": str(exc),
                "latency": time.monotonic() - started}
    return {"reachable": True, "auth_ok": None, "models": list(MODELS), "error": None,
            "latency": time.monotonic() - started}


PLUGINS = [ProviderPlugin("perplexity", build, default_model="sonar", list_models=list_models,
                          health=health, description="Perplexity Sonar (web-grounded)")]

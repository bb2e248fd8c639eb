"""OpenAI and any OpenAI-compatible server (vLLM, LM Studio, llama.cpp server)."""

from __future__ import annotations

import os
import time
from typing import Any

from langchain_core.language_models import BaseChatModel

from providers.errors import ProviderUnavailable, classify
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings


def _build(model: str, settings: ProviderSettings, *, compatible: bool) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    base_url = settings.base_url or (None if compatible else os.environ.get("OPENAI_BASE_URL"))
    if compatible and not base_url:
        raise ProviderUnavailable(
            "openai-compatible needs a base URL: set providers.openai-compatible.base_url",
            provider="openai-compatible")
    api_key = settings.key("OPENAI_API_KEY")
    if not api_key:
        if not compatible:
            raise ProviderUnavailable(
                "no OpenAI API key: set OPENAI_API_KEY or store one with `localagent keys set "
                "openai`", provider="openai")
        api_key = "not-needed"  # local servers ignore it, the SDK insists on one
    kwargs: dict[str, Any] = {
        "model": model,
        "api_key": api_key,
        "timeout": settings.timeout,
        "max_retries": 0,  # the resilient wrapper owns retries
        "stream_usage": True,
        **settings.options,
    }
    if base_url:
        kwargs["base_url"] = base_url
    kwargs.update(settings.sampling())
    return ChatOpenAI(**kwargs)


def build_openai(model: str, settings: ProviderSettings) -> BaseChatModel:
    return _build(model, settings, compatible=False)


def build_compatible(model: str, settings: ProviderSettings) -> BaseChatModel:
    return _build(model, settings, compatible=True)


def list_models(settings: ProviderSettings, timeout: float) -> list[str]:
    model = _build("probe", settings, compatible=bool(settings.base_url))
    return [m.id for m in model.root_client.with_options(timeout=timeout).models.list()]  # type: ignore[attr-defined]


def health(model: Any, timeout: float) -> dict[str, Any]:
    """GET /models: proves reachability and the key without spending tokens."""
    started = time.monotonic()
    try:
        models = [m.id for m in model.root_client.with_options(timeout=timeout).models.list()]
    except Exception as exc:  # classified below: the point of health is to report it
        err = classify(exc)
        return {"reachable": err.kind.value not in ("unreachable", "timeout"),
                "auth_ok": False if err.kind.value == "auth" else None,
                "models": [], "error": str(err), "latency": time.monotonic() - started}
    return {"reachable": True, "auth_ok": True, "models": models, "error": None,
            "latency": time.monotonic() - started}


PLUGINS = [
    ProviderPlugin("openai", build_openai, default_model="gpt-4o-mini", list_models=list_models,
                   health=health, description="OpenAI chat completions"),
    ProviderPlugin("openai-compatible", build_compatible, default_model="default",
                   list_models=list_models, health=health,
                   description="any OpenAI-compatible server (vLLM, LM Studio, llama.cpp)"),
]

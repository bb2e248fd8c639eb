"""Ollama: the model's real context length is read from /api/show and passed as num_ctx."""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from providers.errors import classify
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings

log = logging.getLogger(__name__)
DEFAULT_HOST = "http://127.0.0.1:11434"


def host_of(settings: ProviderSettings) -> str:
    host = settings.base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
    return host if "//" in host else f"http://{host}"


@functools.lru_cache(maxsize=64)
def model_context_length(host: str, model: str, timeout: float = 3.0) -> int | None:
    """``<arch>.context_length`` from /api/show, or None when Ollama cannot say."""
    try:
        response = httpx.post(f"{host}/api/show", json={"model": model}, timeout=timeout)
        response.raise_for_status()
        info = response.json().get("model_info") or {}
    except httpx.TransportError as exc:
        # Ollama is not running: the usual case on a machine without it, where the chain
        # falls through to its next provider; the call itself reports the outage.
        log.debug("ollama: no answer from %s (%s); context length unknown", host, exc)
        return None
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("ollama: could not read the context length of %s from %s: %s",
                    model, host, exc)
        return None
    for key, value in info.items():
        if key.endswith(".context_length") and isinstance(value, int) and value > 0:
            return value
    return None


def build(model: str, settings: ProviderSettings) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    host = host_of(settings)
    kwargs: dict[str, Any] = {"model": model, "base_url": host,
                              "client_kwargs": {"timeout": settings.timeout}, **settings.options}
    if "num_ctx" not in kwargs:
        length = model_context_length(host, model)
        if length:
            # Ollama's default window is 2048 tokens and silently cuts longer prompts.
            kwargs["num_ctx"] = min(length, settings.max_context)
    kwargs.update(settings.sampling("num_predict"))
    return ChatOllama(**kwargs)


def _tags(host: str, timeout: float) -> list[str]:
    response = httpx.get(f"{host}/api/tags", timeout=timeout)
    response.raise_for_status()
    return [m["name"] for m in response.json().get("models", [])]


def list_models(settings: ProviderSettings, timeout: float) -> list[str]:
    return _tags(host_of(settings), timeout)


def health(model: Any, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    host = getattr(model, "base_url", None) or DEFAULT_HOST
    try:
        models = _tags(host, timeout)
    except Exception as exc:
        err = classify(exc)
        return {"reachable": False, "auth_ok": None, "models": [], "error": str(err),
                "latency": time.monotonic() - started}
    return {"reachable": True, "auth_ok": True, "models": models, "error": None,
            "latency": time.monotonic() - started}


PLUGINS = [ProviderPlugin("ollama", build, default_model="llama3.2", list_models=list_models,
                          health=health, description="Ollama on OLLAMA_HOST")]

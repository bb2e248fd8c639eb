"""``local``: the embedded llama.cpp model, in-process. The default model is the bundled
Gemma 3 270M (assembled once into the cache dir); ``providers.local.model_path`` loads any
other GGUF."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from langchain_core.language_models import BaseChatModel

from providers.errors import ProviderUnavailable
from providers.local_files import DEFAULT_NAME, resolve
from providers.policy import ProviderPolicy
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings

DEFAULT_CONTEXT = 8192
DEFAULT_MAX_TOKENS = 384  # ~10 tok/s under a grammar on 2 cores: about 40 s per answer


def installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def build(model: str, settings: ProviderSettings) -> BaseChatModel:
    if settings.model_path or model.endswith(".gguf"):
        resolve(model, settings.model_path)  # a wrong path is the first thing to say
    if not installed():
        raise ProviderUnavailable(
            "llama-cpp-python is not installed: reinstall LocalAgent as its README says "
            "(it builds llama.cpp), or configure another provider", provider="local")
    from providers.local_chat import LocalChatModel

    path = resolve(model, settings.model_path)
    options = dict(settings.options)
    return LocalChatModel(
        model=model, model_path=str(path), n_ctx=settings.context_size or DEFAULT_CONTEXT,
        n_threads=settings.threads, n_gpu_layers=settings.gpu_layers,
        temperature=0.2 if settings.temperature is None else settings.temperature,
        max_tokens=settings.max_tokens or DEFAULT_MAX_TOKENS, **options)


def list_models(settings: ProviderSettings, timeout: float) -> list[str]:
    return [settings.model_path] if settings.model_path else [DEFAULT_NAME]


def health(model: Any, timeout: float) -> dict[str, Any]:
    """Loads the model (once per process) and reports what was loaded; no tokens spent."""
    started = time.monotonic()
    try:
        loaded = model.loaded()
        info = {"path": model.model_path, "n_ctx": model.n_ctx, "repack": loaded.repack}
    except Exception as exc:
        return {"reachable": False, "auth_ok": None, "models": [], "error": str(exc),
                "latency": time.monotonic() - started}
    return {"reachable": True, "auth_ok": True, "models": [model.model_name], "error": None,
            "latency": time.monotonic() - started, "details": info}


# A generation cannot be interrupted from outside its thread and a slow CPU is not an
# outage: long attempts, few retries, a breaker that tolerates a bad answer or two.
POLICY = ProviderPolicy.model_validate({"timeout": 900.0, "retry": {"max_retries": 1}})

PLUGINS = [ProviderPlugin("local", build, default_model=DEFAULT_NAME, list_models=list_models,
                          health=health, policy=POLICY,
                          description="embedded llama.cpp model (in-process)")]

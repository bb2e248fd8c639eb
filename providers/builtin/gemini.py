"""Google Gemini through ChatGoogleGenerativeAI (safety settings configurable)."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.language_models import BaseChatModel

from providers.errors import ProviderUnavailable, classify
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings


def _api_key(settings: ProviderSettings) -> str:
    key = settings.key("GOOGLE_API_KEY", "GEMINI_API_KEY")
    if not key:
        raise ProviderUnavailable(
            "no Gemini API key: set GOOGLE_API_KEY (or GEMINI_API_KEY) or store one with "
            "`localagent keys set gemini`", provider="gemini")
    return key


def _safety(settings: ProviderSettings) -> Any:
    if not settings.safety_settings:
        return None
    from google.genai.types import HarmBlockThreshold, HarmCategory

    # The SDK's enums accept any string, so unknown names are caught here.
    for name, enum in (("harm category", HarmCategory), ("threshold", HarmBlockThreshold)):
        known = {member.value for member in enum}
        values = settings.safety_settings.keys() if enum is HarmCategory else \
            settings.safety_settings.values()
        for value in values:
            if value.upper() not in known:
                raise ProviderUnavailable(
                    f"providers.gemini.safety_settings: unknown {name} {value!r}; expected one "
                    f"of {', '.join(sorted(known))}", provider="gemini")
    return {HarmCategory(k.upper()): HarmBlockThreshold(v.upper())
            for k, v in settings.safety_settings.items()}


def build(model: str, settings: ProviderSettings) -> BaseChatModel:
    from langchain_google_genai import ChatGoogleGenerativeAI

    kwargs: dict[str, Any] = {
        "model": model,
        "google_api_key": _api_key(settings),
        "timeout": settings.timeout,
        "max_retries": 0,  # one attempt per call: the wrapper owns retries
        **settings.options,
    }
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    kwargs.update(settings.sampling("max_output_tokens"))
    safety = _safety(settings)
    if safety:
        kwargs["safety_settings"] = safety
    return ChatGoogleGenerativeAI(**kwargs)


def _list(model: Any) -> list[str]:
    return [str(m.name).removeprefix("models/") for m in model.client.models.list()]


def list_models(settings: ProviderSettings, timeout: float) -> list[str]:
    return _list(build("gemini-2.0-flash", settings))


def health(model: Any, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        models = _list(model)
    except Exception as exc:
        err = classify(exc)
        return {"reachable": err.kind.value not in ("unreachable", "timeout"),
                "auth_ok": False if err.kind.value == "auth" else None, "models": [],
                "error": str(err), "latency": time.monotonic() - started}
    return {"reachable": True, "auth_ok": True, "models": models, "error": None,
            "latency": time.monotonic() - started}


PLUGINS = [ProviderPlugin("gemini", build, default_model="gemini-2.0-flash",
                          list_models=list_models, health=health,
                          description="Google Gemini API")]

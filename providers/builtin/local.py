"""The embedded llama.cpp model. Its registry slot exists now; the model itself is added by
the embedded-model work, and until then asking for it says so instead of pretending."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from providers.errors import ProviderUnavailable
from providers.registry import ProviderPlugin
from providers.settings import ProviderSettings


def build(model: str, settings: ProviderSettings) -> BaseChatModel:
    raise ProviderUnavailable(
        "the embedded local model is not installed in this version of LocalAgent; configure "
        "another provider (ollama, openai, gemini, perplexity, openai-compatible)",
        provider="local")


PLUGINS = [ProviderPlugin("local", build, default_model="gemma3-270m",
                          description="embedded llama.cpp model (in-process)")]

"""Provider settings: the shape the configuration layer fills in."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from providers.policy import CachePolicy, Price, ProviderPolicy

DEFAULT_CHAIN = ["ollama", "local"]


class ProviderSettings(BaseModel):
    """How to reach one provider. Unset fields fall back to the provider's own env vars."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="default model for this provider")
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(60.0, gt=0)
    temperature: float | None = None
    max_tokens: int | None = Field(None, gt=0)
    max_context: int = Field(32768, gt=0, description="cap on the context window we ask for")
    safety_settings: dict[str, str] | None = Field(
        None, description="gemini: harm category -> block threshold")
    model_path: str | None = Field(
        None, description="local: a GGUF file (default: the bundled Gemma 3 270M, assembled "
        "once into the cache dir)")
    context_size: int | None = Field(None, gt=0, description="local: context window (n_ctx)")
    threads: int | None = Field(None, gt=0, description="local: CPU threads (default: all)")
    gpu_layers: int = Field(0, ge=-1, description="local: layers offloaded to a GPU (-1: all)")
    options: dict[str, Any] = Field(default_factory=dict, description="extra client kwargs")
    policy: ProviderPolicy = Field(default_factory=ProviderPolicy)

    def key(self, *env_vars: str) -> str | None:
        """The configured API key, else the first of the provider's env vars that is set."""
        if self.api_key:
            return self.api_key.get_secret_value()
        return next((os.environ[v] for v in env_vars if os.environ.get(v)), None)

    def sampling(self, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
        """temperature / max tokens as the client's own keyword arguments, when set."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens is not None:
            out[max_tokens_field] = self.max_tokens
        return out


class ProvidersConfig(BaseModel):
    """Every provider's settings, named chains, and the chain used when none is named."""

    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    chains: dict[str, list[str]] = Field(default_factory=dict)
    default_chain: list[str] = Field(default_factory=lambda: list(DEFAULT_CHAIN))
    deadline: float = Field(300.0, gt=0)
    cache: CachePolicy = Field(default_factory=CachePolicy)
    prices: dict[str, Price] = Field(default_factory=dict)
    shared_state_url: str | None = Field(
        None, description="redis://...: breakers, rate limits and cache shared between processes")
    shared_state_prefix: str = Field("localagent:", min_length=1)

    def for_provider(self, name: str) -> ProviderSettings:
        return self.providers.get(name) or ProviderSettings()

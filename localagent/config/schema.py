"""``Settings``: the one pydantic-settings model behind every configuration layer."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from localagent.config.sections import (
    LoggingSettings,
    PerformanceSettings,
    PluginsSettings,
    SecuritySettings,
    ServerSettings,
    SystemSettings,
    WorkflowSettings,
)
from providers.policy import CachePolicy, Price
from providers.settings import ProvidersConfig, ProviderSettings

ENV_PREFIX = "LOCALAGENT_"
ENV_DELIMITER = "__"


class Settings(BaseSettings):
    """LocalAgent's configuration: defaults < user file < project file < env < flags."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER,
                                      extra="forbid", validate_assignment=True)

    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict, description="per provider: model, base_url, api_key, policy...")
    chains: dict[str, list[str]] = Field(
        default_factory=dict, description="named provider chains, e.g. fast: [openai, local]")
    prices: dict[str, Price] = Field(default_factory=dict, description="USD per 1M tokens")
    system: SystemSettings = Field(default_factory=SystemSettings)
    workflow: WorkflowSettings = Field(default_factory=WorkflowSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    caching: CachePolicy = Field(default_factory=CachePolicy)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    plugins: PluginsSettings = Field(default_factory=PluginsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from localagent.config.sources import LayeredSource

        return init_settings, LayeredSource(settings_cls)

    def default_chain(self) -> list[str]:
        return [part.strip() for part in self.system.default_provider.split(",") if part.strip()]

    def providers_config(self) -> ProvidersConfig:
        """The provider layer's view of this configuration."""
        return ProvidersConfig(providers=self.providers, chains=self.chains,
                               default_chain=self.default_chain(),
                               deadline=self.performance.deadline, cache=self.caching,
                               prices=self.prices,
                               shared_state_url=self.system.shared_state_url,
                               shared_state_prefix=self.system.shared_state_prefix)

    def public_dump(self) -> dict[str, Any]:
        """Everything but secrets, as plain JSON types (for show and export)."""
        data = self.model_dump(mode="json")
        for settings in data.get("providers", {}).values():
            settings.pop("api_key", None)
        from providers.shared_store import redacted_url

        system = data.get("system", {})
        for name in ("checkpoint_url", "shared_state_url"):
            if system.get(name):
                system[name] = redacted_url(system[name])
        data.get("server", {}).get("jwt", {}).pop("secret", None)
        return data

"""load(): build ``Settings`` from every layer, with errors that say where and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from localagent.config.errors import ConfigError, did_you_mean, explain
from localagent.config.schema import Settings
from localagent.config.sources import CURRENT, Layer, LoadOptions
from localagent.redact import register_secret


@dataclass
class Loaded:
    settings: Settings
    options: LoadOptions

    def origin(self, key: tuple[str | int, ...]) -> str:
        """Where the value at ``key`` came from: a file, ``env NAME``, a flag or defaults."""
        return self.options.origin(key)

    @property
    def layers(self) -> list[Layer]:
        return self.options.layers


def load(*, cwd: Path | str | None = None, config_file: Path | str | None = None,
         flags: dict[str, Any] | None = None, user_file: bool = True,
         project_file: bool = True) -> Loaded:
    """Defaults < user file < project file (< ``--config`` file) < provider env vars
    < ``LOCALAGENT_*`` env < ``flags``. Raises ConfigError on any problem."""
    options = LoadOptions(cwd=Path(cwd) if cwd else None,
                          config_file=Path(config_file).expanduser() if config_file else None,
                          user_file=user_file, project_file=project_file, flags=flags or {})
    token = CURRENT.set(options)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise explain(exc, options.origin, Settings) from None
    finally:
        CURRENT.reset(token)
    _check_names(settings, options)
    for provider in settings.providers.values():
        if provider.api_key is not None:
            register_secret(provider.api_key.get_secret_value())
    if settings.server.jwt.secret is not None:
        register_secret(settings.server.jwt.secret.get_secret_value())
    return Loaded(settings, options)


def load_settings(**kwargs: Any) -> Settings:
    return load(**kwargs).settings


def _check_names(settings: Settings, options: LoadOptions) -> None:
    """Provider names in ``providers``, ``chains`` and ``system.default_provider`` exist."""
    from providers.registry import provider_names

    known = provider_names()

    def check(name: str, key: tuple[str, ...], what: str) -> None:
        if name not in known:
            raise ConfigError(options.origin(key), ".".join(key),
                              f"unknown provider '{name}'{did_you_mean(name, known)}")

    for name in settings.providers:
        check(name, ("providers", name), "provider")
    for chain, specs in settings.chains.items():
        for spec in specs:
            check(spec.partition(":")[0].strip().lower(), ("chains", chain), "chain entry")
    for spec in settings.default_chain():
        if spec not in settings.chains:
            check(spec.partition(":")[0].strip().lower(), ("system", "default_provider"),
                  "default provider")

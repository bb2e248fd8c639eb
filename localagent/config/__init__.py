"""Layered configuration. Import from here; heavy modules load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localagent.config.errors import ConfigError
    from localagent.config.loader import Loaded, load, load_settings
    from localagent.config.schema import Settings

_EXPORTS = {"ConfigError": "localagent.config.errors", "Loaded": "localagent.config.loader",
            "load": "localagent.config.loader", "load_settings": "localagent.config.loader",
            "Settings": "localagent.config.schema"}
__all__ = ["ConfigError", "Loaded", "Settings", "load", "load_settings"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)

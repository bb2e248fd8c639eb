"""Chat models for every provider, behind one resilient wrapper.

Heavy modules (LangChain, provider SDKs) load on first attribute access, so importing this
package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.errors import (
        AllProvidersFailed,
        AuthError,
        BadRequest,
        ContentPolicy,
        ContextOverflow,
        DeadlineExceeded,
        ProviderError,
        ProviderUnavailable,
        RateLimited,
        StreamInterrupted,
        Transient,
    )
    from providers.factory import get_chat_model
    from providers.policy import ProviderPolicy
    from providers.resilient import ResilientChatModel
    from providers.settings import ProvidersConfig, ProviderSettings

_EXPORTS = {
    "ResilientChatModel": "providers.resilient",
    "get_chat_model": "providers.factory",
    "ProviderPolicy": "providers.policy",
    "ProvidersConfig": "providers.settings",
    "ProviderSettings": "providers.settings",
    **{name: "providers.errors" for name in (
        "AllProvidersFailed", "AuthError", "BadRequest", "ContentPolicy", "ContextOverflow",
        "DeadlineExceeded", "ProviderError", "ProviderUnavailable", "RateLimited",
        "StreamInterrupted", "Transient")},
}
__all__ = [
    "AllProvidersFailed", "AuthError", "BadRequest", "ContentPolicy", "ContextOverflow",
    "DeadlineExceeded", "ProviderError", "ProviderPolicy", "ProviderSettings",
    "ProviderUnavailable", "ProvidersConfig", "RateLimited", "ResilientChatModel",
    "StreamInterrupted", "Transient", "get_chat_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'providers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

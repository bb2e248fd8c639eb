"""The model and policy factories a LocalAgent configuration makes: what the edges (the CLI,
``graph.served``) inject when they build a graph, and what a graph built without them uses.
Given no loaded configuration, it is read on first use (never at import), once."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from graph.context import ModelFactory, PolicyFactory, WorkflowContext
    from localagent.config.schema import Settings
    from localagent.security import SecurityPolicy


def load_configuration() -> Settings:
    """The user's configuration (files, environment), its ``plugins.disabled`` applied to
    this process's plugin registry: what an edge without the CLI's flags runs with."""
    from localagent.config.loader import load_settings
    from providers.registry import disable

    config = load_settings()
    disable(config.plugins.disabled)
    return config


class Configured:
    """A configuration (given, or loaded when first needed) and the factories it makes."""

    def __init__(self, config: Settings | None = None) -> None:
        self._config = config
        self._lock = threading.Lock()

    @property
    def config(self) -> Settings:
        with self._lock:
            if self._config is None:
                self._config = load_configuration()
            return self._config

    def model(self, spec: str | None) -> BaseChatModel:
        """The provider chain for ``spec`` (None: the configured default), keys filled in
        from the key store (a ``ModelFactory``)."""
        from localagent.keys.manager import KeyManager
        from providers.factory import get_chat_model

        config = self.config
        filled = KeyManager(config.security).fill(config)
        return get_chat_model(spec, config=filled.providers_config())

    def policy(self, workspace: str, context: WorkflowContext) -> SecurityPolicy:
        """The configured security settings for one run's workspace (a ``PolicyFactory``)."""
        from localagent.security import SecurityPolicy

        return SecurityPolicy(workspace, self.config.security,
                              auto_approve=context.auto_approve,
                              extra_commands=context.allow_commands)


class Factories(TypedDict):
    models: ModelFactory
    policies: PolicyFactory


def factories(config: Settings) -> Factories:
    """``build_workflow(..., **factories(config))``: a loaded configuration's factories."""
    configured = Configured(config)
    return {"models": configured.model, "policies": configured.policy}

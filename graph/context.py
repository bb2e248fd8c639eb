"""WorkflowContext: per-run settings (``context_schema``). Its defaults are the config model's
defaults, so Studio shows them; the user's configured values are applied at the edges (the
CLI, the module langgraph.json serves) with ``from_settings`` and ``with_configured_defaults``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localagent.config.sections import WorkflowSettings

if TYPE_CHECKING:
    from localagent.config.schema import Settings


_loaded: list[Settings] = []


def settings() -> Settings:
    """The configuration, loaded once per process (or the one given to ``use_settings``)."""
    if not _loaded:
        from localagent.config.loader import load_settings
        from providers.registry import disable

        _loaded.append(load_settings())
        disable(_loaded[0].plugins.disabled)
    return _loaded[0]


def use_settings(config: Settings | None) -> None:
    """Fix the configuration runs use (the CLI passes the one it loaded with its flags);
    ``None`` forgets it, so the next ``settings()`` loads it again."""
    _loaded[:] = [config] if config is not None else []


def _as_field(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value  # a dataclass default is shared


def _default(name: str) -> Any:
    return _as_field(WorkflowSettings.model_fields[name].get_default(call_default_factory=True))


@dataclass
class WorkflowContext:
    """What a run may vary: provider chain, approvals, limits, phases, extra commands."""

    provider: str | None = None
    auto_approve: bool = _default("auto_approve")
    max_parallel_agents: int = _default("max_parallel_agents")
    max_iterations: int = _default("max_iterations")
    agent_step_limit: int = _default("agent_step_limit")
    phases: tuple[int, ...] = _default("phases")
    allow_commands: tuple[str, ...] = ()

    def runs(self, phase: int) -> bool:
        return phase in self.phases

    @classmethod
    def from_settings(cls, workflow: WorkflowSettings, **overrides: Any) -> WorkflowContext:
        """The configured values, then ``overrides`` (None means: not given)."""
        return cls(**{**configured(workflow),
                      **{k: v for k, v in overrides.items() if v is not None}})


def configured(workflow: WorkflowSettings) -> dict[str, Any]:
    """The context fields the configuration sets (``workflow.*`` of the same name)."""
    names = {f.name for f in dataclasses.fields(WorkflowContext)} & set(
        WorkflowSettings.model_fields)
    return {name: _as_field(getattr(workflow, name)) for name in sorted(names)}


def with_configured_defaults(workflow: WorkflowSettings) -> type[WorkflowContext]:
    """A ``WorkflowContext`` whose defaults are the configured values: the context schema of
    the served graphs, so Studio shows them and a run that leaves a field out gets them."""
    hints = typing.get_type_hints(WorkflowContext)
    fields = [(name, hints[name], dataclasses.field(default=value))
              for name, value in configured(workflow).items()]
    return dataclasses.make_dataclass("WorkflowContext", fields, bases=(WorkflowContext,),
                                      namespace={"__doc__": WorkflowContext.__doc__})

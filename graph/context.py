"""WorkflowContext: per-run settings (``context_schema``). Its defaults are the config model's
defaults, so Studio shows them; the user's configured values are applied at the edges (the
CLI, the module langgraph.json serves) with ``from_settings`` and ``with_configured_defaults``.
What is not a per-run value (the provider configuration and keys, the security settings)
comes through the model and policy factories injected when a graph is built. A contract: no
I/O, no configuration file is read here."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from graph.phases import Phase
from localagent.config.sections import WorkflowSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from localagent.security import SecurityPolicy


class ModelFactory(Protocol):
    """Builds the chat model for a provider spec, chain or chain name (None: the default);
    injected when a graph is built (``graph.configured`` makes one from a configuration)."""

    def __call__(self, spec: str | None) -> BaseChatModel: ...


class PolicyFactory(Protocol):
    """The security policy for a run's workspace, with its approvals and extra commands;
    injected when a graph is built."""

    def __call__(self, workspace: str, context: WorkflowContext) -> SecurityPolicy: ...


def _as_field(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value  # a dataclass default is shared


def _default(name: str) -> Any:
    return _as_field(WorkflowSettings.model_fields[name].get_default(call_default_factory=True))


@dataclass
class WorkflowContext:
    """What a run may vary: provider chain, approvals, limits, phases, checks, extra
    commands."""

    provider: str | None = None
    auto_approve: bool = _default("auto_approve")
    max_parallel_agents: int = _default("max_parallel_agents")
    max_iterations: int = _default("max_iterations")
    agent_step_limit: int = _default("agent_step_limit")
    max_audit_loops: int = _default("max_audit_loops")
    context_token_budget: int = _default("context_token_budget")
    phases: tuple[int, ...] = _default("phases")
    checks: tuple[str, ...] = _default("checks")
    allow_commands: tuple[str, ...] = ()

    def runs(self, phase: Phase) -> bool:
        """Whether this run goes through ``phase`` (a step of a phase goes with it)."""
        return not phase.can_disable or phase.number in self.phases

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

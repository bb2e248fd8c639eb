"""WorkflowContext: per-run settings (``context_schema``); defaults come from the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from localagent.config.sections import WorkflowSettings


_loaded: list[Settings] = []


def settings() -> Settings:
    """The configuration, loaded once per process (or the one given to ``use_settings``)."""
    if not _loaded:
        from localagent.config.loader import load_settings

        _loaded.append(load_settings())
    return _loaded[0]


def use_settings(config: Settings | None) -> None:
    """Fix the configuration runs use (the CLI passes the one it loaded with its flags);
    ``None`` forgets it, so the next ``settings()`` loads it again."""
    _loaded[:] = [config] if config is not None else []


def _workflow() -> WorkflowSettings:
    return settings().workflow


@dataclass
class WorkflowContext:
    """What a run may vary: provider chain, approvals, limits, phases, extra commands."""

    provider: str | None = None
    auto_approve: bool = field(default_factory=lambda: _workflow().auto_approve)
    max_parallel_agents: int = field(default_factory=lambda: _workflow().max_parallel_agents)
    max_iterations: int = field(default_factory=lambda: _workflow().max_iterations)
    agent_step_limit: int = field(default_factory=lambda: _workflow().agent_step_limit)
    phases: list[int] = field(default_factory=lambda: list(_workflow().phases))
    allow_commands: list[str] = field(default_factory=list)

    def runs(self, phase: int) -> bool:
        return phase in self.phases

"""What an agent branch works with: its role, its security policy and its tools, made once
per run and role rather than on every turn (branches run by the dozen, each for several
turns; the role files, the policy and the tool schemas do not change within a run)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.context import PolicyFactory, WorkflowContext
from graph.state import AgentState
from localagent.security import SecurityPolicy
from nodes import tools as tool_kit
from nodes.workspace import context_of
from prompts import Prompt, load_role

PHASE_TOOLS = {"research": tool_kit.READ_ONLY,
               "execute": (*tool_kit.READ_ONLY, "propose_edit", "run_command")}
KEPT = 64  # kits kept: a few runs' worth of (role, phase) pairs


@dataclass(frozen=True)
class Kit:
    role: Prompt
    policy: SecurityPolicy
    tools: list[BaseTool]

    def named(self) -> dict[str, BaseTool]:
        return {t.name: t for t in self.tools}


def _run_of() -> str:
    """The thread a node runs for ("" outside a graph run or without a checkpointer)."""
    try:
        return str(get_config().get("configurable", {}).get("thread_id", ""))
    except RuntimeError:
        return ""


class Toolbox:
    """Kits by (run, workspace, run context, role, phase), the least recently used dropped
    past ``KEPT``; the tools keep no state between calls, so branches of one run share them."""

    def __init__(self, policies: PolicyFactory) -> None:
        self._policies = policies
        self._kits: OrderedDict[tuple[Any, ...], Kit] = OrderedDict()
        self._lock = threading.Lock()

    def kit(self, state: AgentState, runtime: Runtime[WorkflowContext]) -> Kit:
        context = context_of(runtime)
        phase = state.get("phase", "research")
        # repr: a context's fields may be lists (``phases`` from the CLI)
        key = (_run_of(), state["workspace"], repr(context), state["role"], phase)
        with self._lock:  # one branch makes a kit; branches started with it wait for it
            kit = self._kits.get(key)
            if kit is None:
                kit = self._kits[key] = self._make(state["workspace"], context, state["role"],
                                                   phase)
                while len(self._kits) > KEPT:
                    self._kits.popitem(last=False)
            self._kits.move_to_end(key)
            return kit

    def _make(self, workspace: str, context: WorkflowContext, role_name: str,
              phase: str) -> Kit:
        role = load_role(role_name, workspace)
        allowed = PHASE_TOOLS.get(phase, tool_kit.READ_ONLY)
        policy = self._policies(workspace, context)
        names = [name for name in role.tools if name in allowed]
        return Kit(role, policy, tool_kit.make_tools(policy, names))

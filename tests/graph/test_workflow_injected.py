"""Configuration through the runtime context only: a graph built with injected model and
policy factories and run with an explicit context never reads a configuration file (here an
invalid one, which any read would fail on), and importing the graphs reads none."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver

from graph.context import WorkflowContext
from graph.workflow import build_workflow
from localagent.config.loader import load_settings
from localagent.config.sections import SecuritySettings
from localagent.security import SecurityPolicy
from tests.graph.test_workflow import FIXED, ctx, model, repo, run

__all__ = ["repo"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broken_config() -> Path:
    """The user's configuration file (LOCALAGENT_CONFIG_DIR, per test), invalid."""
    path = Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("workflow:\n  max_parallel_agents: 0\n")
    with pytest.raises(Exception, match="max_parallel_agents"):
        load_settings()
    return path


async def test_injected_factories_and_context_need_no_configuration(
        repo: Path, broken_config: Path) -> None:
    scripted = model()
    specs: list[str | None] = []
    workspaces: list[str] = []

    def models(spec: str | None) -> BaseChatModel:
        specs.append(spec)
        return scripted

    def policies(workspace: str, context: WorkflowContext) -> SecurityPolicy:
        workspaces.append(workspace)
        return SecurityPolicy(workspace, SecuritySettings(sandbox="auto"),
                              auto_approve=context.auto_approve,
                              extra_commands=context.allow_commands)

    graph = build_workflow(models=models, policies=policies, checkpointer=InMemorySaver())
    thread = uuid.uuid4().hex
    context = ctx(provider="my-chain", checks=("python -m pytest -q -k add",),
                  context_token_budget=512, max_audit_loops=0)
    interrupts, _ = await run(graph, {"request": "fix add", "workspace": str(repo)}, thread,
                              context)
    assert interrupts == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "done" and (repo / "calc.py").read_text() == FIXED
    assert [c["command"] for c in state["validation"]["checks"]] == [
        "python -m pytest -q -k add"]  # the context's checks, not detected ones
    assert state["validation"]["passed"] is True
    assert set(specs) == {"my-chain"}  # built once per spec, from the context's provider
    assert set(workspaces) == {str(repo)} and len(workspaces) > 3


def test_importing_the_graphs_reads_no_configuration(broken_config: Path) -> None:
    code = ("import graph.workflow, graph.agent, graph.chat, graph.context; "
            "graph.workflow.build_workflow(); graph.chat.build_chat()")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    served = subprocess.run([sys.executable, "-c", "import graph.served"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=os.environ)
    assert served.returncode != 0 and "max_parallel_agents" in served.stderr  # the edge reads

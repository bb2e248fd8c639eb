"""The phase registry: a phase defined once in ``graph.phases`` is known to the config check,
the CLI's ``--phases``, the progress view, the run context and the node decorator."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError
from typing_extensions import TypedDict

from graph import phases
from graph.context import WorkflowContext
from graph.phases import PHASES, Phase
from localagent.cli.workflow_cmd import _phases
from localagent.config.sections import WorkflowSettings
from localagent.workflow.progress import Tracker
from nodes.progress import phase
from nodes.runnable import node

REVIEW = Phase(10, "second-opinion")


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Phase:
    """A phase added to the registry and nowhere else."""
    monkeypatch.setattr(phases, "PHASES", (*PHASES, REVIEW))
    return REVIEW


def test_the_registry_is_what_every_reader_knows() -> None:
    assert [p.name for p in PHASES][:3] == ["scope", "research", "plan"]
    assert list(Tracker().phases) == phases.phase_names()
    assert WorkflowSettings().phases == phases.phase_numbers() == list(range(10))
    assert WorkflowContext().phases == tuple(phases.phase_numbers())
    with pytest.raises(ValidationError, match=r"phases are numbered 0\.\.9, got \[10\]"):
        WorkflowSettings(phases=[0, 10])


def test_a_phase_defined_once_shows_up_everywhere(registered: Phase) -> None:
    assert Tracker().phases[registered.name] == {"status": "pending", "seconds": None}
    assert WorkflowSettings(phases=[0, 10]).phases == [0, 10]
    assert 10 in WorkflowSettings().phases  # runs by default, like every phase
    assert _phases("2,10") == [2, 10]
    assert WorkflowContext(phases=(10,)).runs(registered)
    assert not WorkflowContext(phases=(0,)).runs(registered)


class _State(TypedDict, total=False):
    seen: list[str]
    activity: list[dict[str, Any]]


def _graph(registered: Phase) -> Any:
    @phase(registered, skipped=lambda state: {"seen": ["skipped"]})
    def second_opinion(state: _State, runtime: Runtime[WorkflowContext]) -> dict[str, Any]:
        return {"seen": ["ran"]}

    builder = StateGraph(_State, context_schema=WorkflowContext)
    builder.add_node("second_opinion", node(second_opinion))
    builder.add_edge(START, "second_opinion")
    builder.add_edge("second_opinion", END)
    return builder.compile()


@pytest.mark.parametrize(("numbers", "seen", "event"), [
    ((0, 10), ["ran"], "phase_finished"),
    ((0,), ["skipped"], "phase_skipped"),
])
def test_the_decorator_alone_skips_a_phase_the_run_leaves_out(
        registered: Phase, numbers: tuple[int, ...], seen: list[str], event: str) -> None:
    chunks = list(_graph(registered).stream({}, context=WorkflowContext(phases=numbers),
                                            stream_mode=["custom", "values"]))
    events = [c["event"] for mode, c in chunks if mode == "custom"]
    assert events[-1] == event and all(e != "phase_started" for e in events) == (
        event == "phase_skipped")
    assert [c for mode, c in chunks if mode == "values"][-1]["seen"] == seen

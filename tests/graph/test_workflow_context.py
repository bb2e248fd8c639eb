"""WorkflowContext: real defaults (the config model's), and the user's configured values
applied at the edges: the CLI, and the served graphs' context schema (what Studio shows)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from graph.context import WorkflowContext, with_configured_defaults
from graph.phases import CONTEXT
from graph.workflow import build_workflow
from localagent.cli.app import app
from localagent.config.sections import WorkflowSettings
from tests.graph.test_workflow import model, repo
from tests.graph_fakes import scripted_provider

__all__ = ["repo"]  # the fixture, shared with test_workflow


def test_the_defaults_are_the_config_models() -> None:
    defaults = WorkflowSettings()
    context = WorkflowContext()
    shared = {f.name for f in dataclasses.fields(WorkflowContext)} & set(
        WorkflowSettings.model_fields)
    assert shared >= {"auto_approve", "max_parallel_agents", "max_iterations",
                      "agent_step_limit", "phases"}
    for name in shared:
        value = getattr(context, name)
        assert (list(value) if isinstance(value, tuple) else value) == getattr(defaults, name)


def test_studio_sees_every_default_and_configured_values_replace_them() -> None:
    properties = build_workflow().get_context_jsonschema()["properties"]
    assert all("default" in spec for spec in properties.values()), properties
    configured = with_configured_defaults(WorkflowSettings(max_parallel_agents=5,
                                                           phases=[0, 1, 2]))
    schema = build_workflow(context_schema=configured).get_context_jsonschema()
    assert schema["properties"]["max_parallel_agents"]["default"] == 5
    assert schema["properties"]["phases"]["default"] == [0, 1, 2]
    assert schema["properties"]["max_iterations"]["default"] == 2
    # a run that leaves a field out gets the configured value (LangGraph builds the context
    # from the dict it is given)
    context = configured(auto_approve=True)
    assert isinstance(context, WorkflowContext) and context.max_parallel_agents == 5
    assert not context.runs(CONTEXT) and context.auto_approve


def test_the_cli_runs_with_the_configured_values(repo: Path, httpserver: HTTPServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_provider(httpserver, model())
    monkeypatch.setenv("LOCALAGENT_WORKFLOW__PHASES", "[0, 1, 2, 3, 4, 5]")
    result = CliRunner().invoke(app, ["--format", "json", "fix add", "-w", str(repo), "--yes"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["phases"]["validate"]["status"] == "skipped"
    assert doc["phases"]["audit"]["status"] == "skipped"
    assert doc["applied"] == ["calc.py"] and doc["checks_passed"] is None


def test_studio_sees_the_shapes_of_the_state() -> None:
    """Typed state: the output schema describes what a phase stores, not ``object``."""
    schema = build_workflow().get_output_jsonschema()
    shapes = schema["$defs"]
    assert schema["properties"]["scope"] == {"$ref": "#/$defs/ScopeState"}
    assert set(shapes["PlanState"]["properties"]) >= {"summary", "streams"}
    assert shapes["StreamState"]["required"] == ["id", "role", "focus", "files",
                                                 "acceptance_checks", "depends_on"]
    checks = shapes["Validation"]["properties"]["checks"]
    assert checks["items"] == {"$ref": "#/$defs/CheckResult"}

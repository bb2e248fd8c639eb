"""``localagent plugins list``: entry-point metadata only, never the plugin's code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from localagent.cli.app import app

runner = CliRunner()
MODULE = "exploding_localagent_plugin"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution on sys.path declaring a provider whose module blows up on import;
    importing it also leaves a marker file behind. Returns the marker's path."""
    site = tmp_path / "site"
    dist = site / "exploding_plugin-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: exploding-plugin\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(
        f"[localagent.providers]\nexploding = {MODULE}:register\n")
    marker = tmp_path / "imported"
    (site / f"{MODULE}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('yes')\n"
        f"raise RuntimeError('plugin code was imported')\n")
    monkeypatch.syspath_prepend(str(site))
    return marker


def assert_not_imported(marker: Path) -> None:
    assert MODULE not in sys.modules
    assert not marker.exists()


def test_lists_installed_plugins_without_importing_them(installed: Path) -> None:
    code, out, _ = run("--format", "json", "plugins", "list")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["exploding"] == {"name": "exploding", "source": "entry point",
                                 "value": f"{MODULE}:register",
                                 "distribution": "exploding-plugin", "version": "1.2.3",
                                 "disabled": False}
    assert {name for name, row in rows.items() if row["source"] == "built-in"} == {
        "gemini", "local", "ollama", "openai", "openai-compatible", "perplexity"}
    assert_not_imported(installed)

    code, out, _ = run("plugins", "list")
    assert code == 0 and "exploding" in out and "1.2.3" in out
    assert_not_imported(installed)


def test_disabled_plugins_are_marked_and_left_out_of_providers(
        tmp_path: Path, installed: Path) -> None:
    config = tmp_path / "config" / "config.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({"plugins": {"disabled": ["exploding"]}}))

    code, out, _ = run("--format", "json", "plugins", "list")
    assert code == 0
    assert {row["name"]: row["disabled"] for row in json.loads(out)}["exploding"] is True

    code, out, _ = run("--format", "json", "providers", "list")
    assert code == 0
    assert "exploding" not in {row["provider"] for row in json.loads(out)}
    assert_not_imported(installed)


def test_a_broken_enabled_plugin_does_not_break_providers_list(installed: Path) -> None:
    code, out, _ = run("--format", "json", "providers", "list")
    assert code == 0
    row = {row["provider"]: row for row in json.loads(out)}["exploding"]
    assert row["description"] == "cannot load: plugin code was imported"
    assert row["configured"] is True and row["chain"] is None

    code, out, _ = run("--format", "json", "providers", "health", "--provider", "exploding")
    assert code == 1
    [probe] = json.loads(out)
    assert (probe["set_up"], probe["reachable"]) == (False, False)
    assert "plugin code was imported" in probe["error"]

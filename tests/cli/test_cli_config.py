"""The init, config and keys command groups, through Typer's runner and a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from localagent.cli.app import app

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def user_config(tmp_path: Path) -> Path:
    return tmp_path / "config" / "config.yaml"


def test_init_non_interactive_writes_a_valid_file(tmp_path: Path) -> None:
    code, _, err = run("init", "--non-interactive", "--provider", "local", "--max-parallel", "3")
    assert code == 0, err
    written = yaml.safe_load(user_config(tmp_path).read_text())
    assert written == {"system": {"default_provider": "local"},
                       "workflow": {"auto_approve": False, "max_parallel_agents": 3}}
    assert "# LocalAgent configuration (user)." in user_config(tmp_path).read_text()

    code, _, err = run("init", "--non-interactive")
    assert code == 2
    assert "already exists; use --force" in err
    code, _, err = run("init", "--non-interactive", "--force", "--provider", "ollama")
    assert code == 0
    backups = list(user_config(tmp_path).parent.glob("config.yaml.bak-*"))
    assert len(backups) == 1 and "default_provider: local" in backups[0].read_text()


def test_init_project_file_and_bad_provider(tmp_path: Path) -> None:
    code, _, err = run("init", "--non-interactive", "--project", "--provider", "olama")
    assert code == 2
    assert err.strip() == (f"error: {tmp_path / '.localagent' / 'config.yaml'}: system."
                           "default_provider: unknown provider 'olama' (did you mean "
                           "'ollama'?)")  # the user's file, not a scratch copy
    assert not (tmp_path / ".localagent").exists()
    code, _, _ = run("init", "--non-interactive", "--project", "--auto-approve")
    assert code == 0
    assert yaml.safe_load((tmp_path / ".localagent" / "config.yaml").read_text())[
        "workflow"]["auto_approve"] is True


def test_init_never_prompts_without_a_terminal() -> None:
    code, _, err = run("init")
    assert code == 2
    assert "no terminal; use 'localagent init --non-interactive'" in err


def test_show_json_and_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_config(tmp_path).parent.mkdir()
    user_config(tmp_path).write_text("workflow: {max_iterations: 3}\n")
    monkeypatch.setenv("LOCALAGENT_WORKFLOW__AGENT_STEP_LIMIT", "5")
    code, out, _ = run("config", "show", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert (data["workflow"]["max_iterations"], data["workflow"]["agent_step_limit"]) == (3, 5)
    code, out, _ = run("--format", "json", "config", "show", "--sources")
    sources = {row["key"]: row["source"] for row in json.loads(out)}
    assert sources["workflow.max_iterations"] == str(user_config(tmp_path))
    assert sources["workflow.agent_step_limit"] == "env LOCALAGENT_WORKFLOW__AGENT_STEP_LIMIT"
    assert sources["workflow.auto_approve"] == "defaults"
    code, out, _ = run("--log-level", "info", "config", "show", "--sources", "--format", "json")
    sources = {row["key"]: row["source"] for row in json.loads(out)}
    assert sources["logging.level"] == "command-line flag"


def test_validate(tmp_path: Path) -> None:
    code, _, err = run("config", "validate")
    assert code == 0 and "configuration is valid" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow:\n  max_iterations: -1\n  agent_step_limit: 0\n")
    code, _, err = run("config", "validate", str(bad))
    assert code == 2
    assert err.splitlines() == [
        f"error: {bad}: workflow.max_iterations: Input should be greater than or equal to 0 "
        f"(got -1)",
        f"error: {bad}: workflow.agent_step_limit: Input should be greater than or equal to 1 "
        f"(got 0)"]


def test_path(tmp_path: Path) -> None:
    _code, out, _ = run("config", "path", "--format", "json")
    rows = {row["what"]: row for row in json.loads(out)}
    assert rows["user config"]["path"] == str(user_config(tmp_path))
    assert rows["project config"]["path"] == str(tmp_path / ".localagent" / "config.yaml")
    assert rows["data dir"]["path"] == str(tmp_path / "data")


def test_export_and_import_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-export-canary-1234567890")
    user_config(tmp_path).parent.mkdir()
    user_config(tmp_path).write_text(
        "providers:\n  openai: {model: gpt-4o-mini}\nworkflow: {max_iterations: 4}\n")
    code, out, _ = run("config", "export")
    assert code == 0
    assert yaml.safe_load(out) == {"providers": {"openai": {"model": "gpt-4o-mini"}},
                                   "workflow": {"max_iterations": 4}}
    code, out, _ = run("config", "export", "--all", "--format", "json")
    assert json.loads(out)["security"]["command_timeout"] == 120.0
    assert "sk-export-canary" not in out

    shared = tmp_path / "shared.yaml"
    shared.write_text("providers:\n  gemini: {api_key: plain-gemini-key-123456, model: m}\n"
                      "workflow: {max_iterations: 1}\n")
    code, _, err = run("config", "import", str(shared))
    assert code == 0
    assert "API keys for gemini were not imported" in err
    imported = yaml.safe_load(user_config(tmp_path).read_text())
    assert imported == {"providers": {"gemini": {"model": "m"}},
                        "workflow": {"max_iterations": 1}}
    assert len(list(user_config(tmp_path).parent.glob("config.yaml.bak-*"))) == 1

    before = user_config(tmp_path).read_text()
    shared.write_text("workflow: {max_iterations: lots}\n")
    code, _, err = run("config", "import", str(shared))
    assert code == 2 and "workflow.max_iterations" in err
    assert user_config(tmp_path).read_text() == before


def test_keys_commands(tmp_path: Path) -> None:
    code, _, err = run("keys", "set", "openai", input="sk-cli-key-abcdefghijklmnop\n")
    assert code == 0, err
    assert "stored key 'openai' in the encrypted-file store" in err
    assert "no secure OS keyring" in err  # said once...
    code, _, err = run("keys", "set", "gemini", "--value", "AIza-cli-key-0000000000000")
    assert "no secure OS keyring" not in err  # ...and not again
    code, out, _ = run("keys", "get", "openai")
    assert out.strip() == "sk-…mnop"
    code, out, _ = run("keys", "get", "openai", "--show")
    assert out.strip() == "sk-cli-key-abcdefghijklmnop"
    code, out, _ = run("keys", "list", "--format", "json")
    assert [(k["name"], k["store"]) for k in json.loads(out)] == [
        ("gemini", "encrypted-file"), ("openai", "encrypted-file")]
    assert "sk-cli-key" not in out
    code, out, _ = run("keys", "path")
    assert out.strip() == str(tmp_path / "data" / "keys.enc")
    code, _, _ = run("keys", "rotate", "openai", "--value", "sk-cli-key-rotated-000000")
    assert run("keys", "get", "openai", "--show")[1].strip() == "sk-cli-key-rotated-000000"
    code, _, err = run("keys", "rotate", "perplexity", "--value", "x" * 20)
    assert code == 2 and "no stored key named 'perplexity' to rotate" in err
    assert run("keys", "rotate", "--master")[0] == 0
    assert run("keys", "get", "gemini", "--show")[1].strip() == "AIza-cli-key-0000000000000"
    assert run("keys", "delete", "gemini", "--yes")[0] == 0
    code, _, err = run("keys", "get", "gemini")
    assert code == 2 and "no stored key named 'gemini'" in err
    code, _, err = run("keys", "set", "Bad Name", "--value", "whatever-123456")
    assert code == 2 and "invalid key name 'Bad Name'" in err


def test_keys_migrate(tmp_path: Path) -> None:
    config = user_config(tmp_path)
    config.parent.mkdir()
    config.write_text("# my providers\nproviders:\n  openai:\n    model: gpt-4o\n"
                      "    api_key: sk-plain-in-config-0123456789\n")
    code, _, err = run("keys", "migrate", "--dry-run")
    assert "would move openai" in err and "api_key" in config.read_text()
    code, _, err = run("keys", "migrate")
    assert code == 0 and "moved openai into the key store" in err
    assert config.read_text() == "# my providers\nproviders:\n  openai:\n    model: gpt-4o\n"
    assert run("keys", "get", "openai", "--show")[1].strip() == "sk-plain-in-config-0123456789"


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    """A real process: main() turns a config error into one line on stderr and exit 2."""
    user_config(tmp_path).parent.mkdir()
    user_config(tmp_path).write_text("security: {key_store: vault}\n")
    result = subprocess.run([sys.executable, "-m", "localagent", "config", "show"],
                            capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {user_config(tmp_path)}: security.key_store: "
                                     f"Input should be 'auto', 'keyring' or 'file' (got 'vault')")
    assert result.stdout == ""

"""Shared pieces of the CLI tests: running the app, writing the isolated user config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``localagent ARGS``; a crash is raised, not hidden."""
    from localagent.cli.app import app

    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write_user_config(data: dict[str, Any]) -> None:
    """The user config file in the test's isolated ``LOCALAGENT_CONFIG_DIR``."""
    path = Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


def use_openai_compatible(base_url: str, model: str, timeout: float = 30) -> None:
    """Make ``openai-compatible:MODEL`` at ``base_url`` the default provider."""
    write_user_config({
        "system": {"default_provider": f"openai-compatible:{model}"},
        "providers": {"openai-compatible": {"base_url": base_url, "timeout": timeout}}})

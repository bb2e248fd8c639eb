"""Terminal answers to the workflow's questions: running project code without a sandbox
needs an explicit yes; Enter means no."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from localagent.cli.ask import ask, describe

QUESTION = {"type": "approve_command", "command": "python -m pytest -q",
            "message": "Run `python -m pytest -q` without a sandbox? it runs project code.",
            "sandbox": "none (bwrap not found)"}


@pytest.mark.parametrize(("typed", "runs"), [("\n", False), ("n\n", False), ("y\n", True),
                                             ("yes\n", True), ("sure\n", False)])
def test_approve_command_defaults_to_no(typed: str, runs: bool) -> None:
    runner = CliRunner()
    with runner.isolation(input=typed):
        assert ask(QUESTION) is runs


def test_headless_description_names_the_command() -> None:
    assert "command: python -m pytest -q" in describe(QUESTION)

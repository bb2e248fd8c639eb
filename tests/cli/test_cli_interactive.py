"""``localagent init`` asked in a real terminal (a pty driven by pexpect)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

pytestmark = pytest.mark.slow


def spawn(tmp_path: Path, refused_url: str) -> pexpect.spawn:
    env = {**os.environ, "OLLAMA_HOST": refused_url, "NO_COLOR": "1", "TERM": "dumb"}
    return pexpect.spawn(sys.executable, ["-m", "localagent", "init"], env=env,
                         cwd=str(tmp_path), encoding="utf-8", timeout=30)


def test_interactive_init_with_a_key(tmp_path: Path, refused_url: str) -> None:
    child = spawn(tmp_path, refused_url)
    child.expect("Ollama is not reachable")
    child.expect(r"provider chain .*\[local\]: ")
    child.sendline("openai:gpt-4o-mini,local")
    child.expect(r"store an API key for openai now\? \[Y/n\]: ")
    child.sendline("y")
    child.expect("key for openai: ")
    child.sendline("sk-typed-in-a-terminal-0000000")
    child.expect("Repeat for confirmation: |key for openai: |auto-approve")
    if "Repeat" in child.after:
        child.sendline("sk-typed-in-a-terminal-0000000")
        child.expect("auto-approve")
    child.expect(r"\[y/N\]: ")
    child.sendline("n")
    child.expect(r"agents to run in parallel \[2\]: ")
    child.sendline("3")
    child.expect(pexpect.EOF)
    transcript = child.before
    child.close()
    assert child.exitstatus == 0, transcript
    assert "sk-typed-in-a-terminal" not in transcript  # hidden input is not echoed
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    assert config == {"system": {"default_provider": "openai:gpt-4o-mini,local"},
                      "workflow": {"auto_approve": False, "max_parallel_agents": 3}}
    from localagent.keys import KeyManager

    assert KeyManager().get("openai") == "sk-typed-in-a-terminal-0000000"


def test_interactive_init_defaults(tmp_path: Path, refused_url: str) -> None:
    child = spawn(tmp_path, refused_url)
    child.expect(r"provider chain .*\[local\]: ")
    child.sendline("")
    child.expect(r"\[y/N\]: ")
    child.sendline("")
    child.expect(r"\[2\]: ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    assert config["system"]["default_provider"] == "local"
    assert not (tmp_path / "data" / "keys.enc").exists()

"""``keys migrate``: plaintext API keys move from a config file into the key store."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path

import pytest

from localagent.audit import AuditLog
from localagent.keys import KeyManager, KeyStoreError
from localagent.keys.migrate import migrate_file

KEY = "sk-test-0123456789abcdefghijKLMN"


# -- keys migrate -------------------------------------------------------------------------
CONFIG = textwrap.dedent("""\
    # LocalAgent project config
    system:
      default_provider: openai  # cloud first
    providers:
      openai:
        # moved into the key store by keys migrate
        api_key: sk-migrate-0123456789abcdefghij
        model: gpt-4o-mini
      gemini:
        api_key: "${GEMINI_KEY}"
        model: gemini-2.0-flash
    """)
PLAIN = "sk-migrate-0123456789abcdefghij"


def events() -> list[str]:
    return [entry["event"] for entry in AuditLog().entries()]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def test_migrate_moves_plaintext_keys_and_keeps_the_rest(config, tmp_path) -> None:
    assert migrate_file(config, KeyManager(), dry_run=True) == ["openai"]
    assert config.read_text() == CONFIG and not list(config.parent.glob("config.yaml.bak-*"))
    assert not (tmp_path / "data" / "keys.enc").exists()
    assert migrate_file(config, KeyManager()) == ["openai"]
    assert config.read_text() == CONFIG.replace(f"    api_key: {PLAIN}\n", "")
    [backup] = config.parent.glob("config.yaml.bak-*")
    assert backup.read_text() == CONFIG and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert KeyManager().get("openai") == PLAIN
    assert migrate_file(config, KeyManager()) == []
    assert {"key_migrate", "config_migrated"} <= set(events())
    assert PLAIN not in (tmp_path / "data" / "audit.jsonl").read_text()


def test_migrate_refuses_a_conflicting_stored_key(config) -> None:
    KeyManager().set("openai", KEY)
    with pytest.raises(KeyStoreError, match=r"providers\.openai\.api_key differs from the "
                                            r"stored key 'openai'; delete one of them first"):
        migrate_file(config, KeyManager())
    assert config.read_text() == CONFIG and not list(config.parent.glob("config.yaml.bak-*"))
    assert KeyManager().get("openai") == KEY
    KeyManager().rotate("openai", PLAIN)  # the same key stored already is no conflict
    assert migrate_file(config, KeyManager()) == ["openai"]


def test_migrate_leaves_null_keys_and_refuses_inline_mappings(tmp_path: Path) -> None:
    nulls = tmp_path / "nulls.yaml"
    nulls.write_text("providers:\n  openai:\n    api_key: null\n  gemini:\n    api_key: ~\n")
    assert migrate_file(nulls, KeyManager()) == []
    assert "api_key: null" in nulls.read_text()
    inline = tmp_path / "inline.yaml"
    text = f"providers: {{openai: {{api_key: {PLAIN}, model: gpt-4o}}}}\n"
    inline.write_text(text)
    with pytest.raises(KeyStoreError, match=r"providers\.openai is written inline"):
        migrate_file(inline, KeyManager())
    assert inline.read_text() == text and KeyManager().get("openai") is None


def test_migrate_removes_every_line_of_a_multi_line_key(tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text("providers:\n  openai:\n    api_key: |\n      sk-block-0123456789abcdef\n"
                    "    model: gpt-4o  # kept\n")
    assert migrate_file(path, KeyManager()) == ["openai"]
    assert path.read_text() == "providers:\n  openai:\n    model: gpt-4o  # kept\n"
    assert KeyManager().get("openai") == "sk-block-0123456789abcdef"

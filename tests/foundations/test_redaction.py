"""Secrets never leave the process: logs, exceptions, CLI output and errors, the audit log."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import string
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from localagent import redact
from localagent.audit import AuditLog
from localagent.cli.app import app, main
from localagent.keys import KeyManager
from localagent.redact import (
    RedactingFilter,
    format_exception,
    install_log_redaction,
    register_secret,
    scrub,
    scrub_data,
    scrub_exception,
)

MASK = "[redacted]"


def random_text(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI and install_log_redaction() change process-wide logging: put it back."""
    root = logging.getLogger()
    factory, installed = logging.getLogRecordFactory(), redact._installed
    handlers, level = root.handlers[:], root.level
    yield
    logging.setLogRecordFactory(factory)
    redact._installed = installed
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def key() -> str:
    """Key-shaped: redacted even when nobody registered it."""
    return "sk-canary-" + random_text(24)


@pytest.fixture
def word() -> str:
    """Not key-shaped: redacted only once registered (tests register it, or the code does)."""
    return "zq7Canary" + random_text(12)


@pytest.fixture
def fresh_redaction() -> None:
    redact._installed = False
    install_log_redaction()


# -- logs ---------------------------------------------------------------------------------
def test_log_records_are_scrubbed_everywhere(caplog, key, word, fresh_redaction) -> None:
    register_secret(word)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("localagent.tests.redaction")
    log.addHandler(handler)
    try:
        with caplog.at_level(logging.DEBUG, logger=log.name):
            log.info("using key %s for %s", key, "openai")
            log.warning(f"registered secret {word} in an f-string")
            try:
                raise RuntimeError(f"request failed with {key} / {word}")
            except RuntimeError:
                log.exception("call failed for %s", word)
    finally:
        log.removeHandler(handler)
    streamed = stream.getvalue()
    for text in (streamed, caplog.text, *(r.getMessage() for r in caplog.records)):
        assert key not in text and word not in text
    assert f"using key {MASK} for openai" in streamed
    assert f"registered secret {MASK} in an f-string" in streamed
    assert f"call failed for {MASK}" in streamed and "Traceback (most recent call last)" in streamed
    assert f"RuntimeError: request failed with {MASK} / {MASK}" in streamed
    assert len(caplog.records) == 3 and f"request failed with {MASK}" in caplog.text


def test_a_handler_filter_scrubs_records_the_factory_never_saw(key, word) -> None:
    register_secret(word)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_log_redaction([handler])
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    try:
        raise ValueError(f"bad {word}")
    except ValueError as exc:
        info = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s", (key,), info)
    handler.handle(record)
    text = stream.getvalue()
    assert key not in text and word not in text
    assert text.startswith(f"key {MASK}\n") and f"ValueError: bad {MASK}" in text


# -- exceptions ---------------------------------------------------------------------------
class ProviderError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"provider said: {self.detail}"


def chained(key: str, word: str) -> RuntimeError:
    try:
        try:
            try:
                raise ValueError(f"lookup of {word} failed")
            except ValueError:
                raise ProviderError(f"401 for key {key}")  # noqa: B904 - implicit context
        except ProviderError as inner:
            raise RuntimeError(f"call with {word} failed") from inner
    except RuntimeError as exc:
        return exc


def test_scrub_exception_cleans_the_whole_chain(key, word) -> None:
    register_secret(word)
    exc = chained(key, word)
    assert scrub_exception(exc) is exc
    cause = exc.__cause__
    assert isinstance(cause, ProviderError) and isinstance(cause.__context__, ValueError)
    assert str(exc) == f"call with {MASK} failed"
    assert str(cause) == f"provider said: 401 for key {MASK}"
    assert cause.detail == f"401 for key {MASK}"
    assert str(cause.__context__) == f"lookup of {MASK} failed"
    for text in ("".join(traceback.format_exception(exc)), format_exception(exc)):
        assert key not in text and word not in text
        assert "The above exception was the direct cause" in text


def test_format_exception_scrubs_even_an_unscrubbed_exception(key, word) -> None:
    register_secret(word)
    text = format_exception(chained(key, word))
    assert key not in text and word not in text and text.count(MASK) == 3


# -- scrub and scrub_data -----------------------------------------------------------------
def test_scrub_data_walks_nested_structures(key, word) -> None:
    register_secret(word)
    data = {"a": [key, {"b": (word, 3), "c": None}], "n": 5, "s": f"x {word} y", "ok": "fine"}
    assert scrub_data(data) == {"a": [MASK, {"b": [MASK, 3], "c": None}], "n": 5,
                                "s": f"x {MASK} y", "ok": "fine"}
    assert data["a"][0] == key  # a copy: the input is not changed


@pytest.mark.parametrize("shape", [
    "sk-" + "a1B2" * 5, "sk-proj-" + "Zz9_" * 6, "sk-ant-api03-" + "q" * 20,
    "AIza" + "SyA-0123456789_abcdefghijklmnop", "pplx-" + "0123456789abcdef", "ghp_" + "x" * 36,
    "AKIA" + "ABCDEFGHIJ234567",
])
def test_key_shaped_strings_are_redacted_without_registration(shape) -> None:
    assert scrub(f"token={shape}!") == f"token={MASK}!"
    assert scrub(f"'{shape}' and \"{shape}\"") == f"'{MASK}' and \"{MASK}\""


def test_bearer_tokens_and_plain_words() -> None:
    assert scrub("Authorization: Bearer abc.DEF-ghi_jkl0123456") == f"Authorization: Bearer {MASK}"
    for text in ("sk-too-short", "task-runner-integration-tests", "/mnt/disk-backup-volume-2024",
                 "chain risk-analysis-fast-chain", "Bearer short"):
        assert scrub(text) == text


def test_short_secrets_are_not_registered_and_longest_wins() -> None:
    register_secret("abc1234", None, "")
    assert scrub("pin abc1234") == "pin abc1234"
    register_secret("abcd1234")
    assert scrub("pin abcd1234") == f"pin {MASK}"
    register_secret("zq7Canary", "zq7Canary-long-secret")
    assert scrub("v=zq7Canary-long-secret;") == f"v={MASK};"


# -- the CLI ------------------------------------------------------------------------------
def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output + result.stderr


@pytest.mark.parametrize("where", ["env", "project file"])
def test_config_export_and_show_never_print_keys(where, key, word, tmp_path, monkeypatch) -> None:
    if where == "env":
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("GEMINI_API_KEY", word)
    else:
        project = tmp_path / ".localagent" / "config.yaml"
        project.parent.mkdir()
        project.write_text(f"providers:\n  openai:\n    api_key: {key}\n    model: gpt-canary\n"
                           f"  gemini:\n    api_key: '{word}'\n")
    outputs = [cli("config", "export"), cli("config", "export", "--all", "--format", "json"),
               cli("config", "show", "--format", "json"),
               cli("config", "show", "--sources", "--format", "json"),
               cli("config", "export", "-o", str(tmp_path / "out.yaml"))]
    outputs.append((tmp_path / "out.yaml").read_text())
    for text in outputs:
        assert key not in text and word not in text and "api_key" not in text
    shown = json.loads(outputs[2])["providers"]
    assert set(shown) == {"openai", "gemini"}  # the providers were there, without their keys
    assert (shown["openai"]["model"] == "gpt-canary") == (where == "project file")


@pytest.mark.parametrize("debug", [False, True])
def test_cli_errors_are_scrubbed(debug, word, tmp_path, capsys) -> None:
    # the config registers the key when it loads; then the user pastes the key as a name
    project = tmp_path / ".localagent" / "config.yaml"
    project.parent.mkdir()
    project.write_text(f"providers:\n  gemini:\n    api_key: {word}\n")
    with pytest.raises(SystemExit) as exited:
        main([*(["--debug"] if debug else []), "keys", "get", word])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert word not in out + err
    assert f"error: invalid key name '{MASK}'" in err
    assert ("Traceback (most recent call last)" in err) == debug


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run([sys.executable, "-m", "localagent", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_errors_in_a_real_process(key, tmp_path) -> None:
    done = run_cli("keys", "get", key, cwd=tmp_path)
    assert done.returncode == 2 and key not in done.stdout + done.stderr
    assert done.stderr.strip() == f"error: invalid key name '{MASK}': use lowercase letters, " \
                                  f"digits, '.', '_' or '-' (a provider name such as 'openai')"
    project = tmp_path / ".localagent" / "config.yaml"
    project.parent.mkdir()
    project.write_text(f"providers:\n  openai: {key}\n")  # the key where a mapping belongs
    done = run_cli("--debug", "config", "show", cwd=tmp_path)
    assert done.returncode == 2 and key not in done.stdout + done.stderr
    assert "providers.openai: Input should be a valid dictionary" in done.stderr
    assert MASK in done.stderr


# -- the audit log ------------------------------------------------------------------------
def test_the_audit_log_never_holds_a_secret(key, word, tmp_path) -> None:
    register_secret(word)
    audit = AuditLog()
    audit.record("key_set", name="openai", note=f"value {key}", nested={"list": [word]})
    manager = KeyManager()
    manager.set("openai", key)
    manager.set("gemini", "AIza-not-registered-yet-" + random_text(16))
    assert manager.get("openai") == key
    manager.rotate("openai", word + "-rotated")
    raw = (tmp_path / "data" / "audit.jsonl").read_text()
    assert key not in raw and word not in raw and "AIza-not-registered" not in raw
    entries = audit.entries()
    assert entries[0]["note"] == f"value {MASK}" and entries[0]["nested"] == {"list": [MASK]}
    assert [e["event"] for e in entries[1:]] == ["key_set", "key_set", "key_use", "key_rotate"]

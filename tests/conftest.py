from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from providers.factory import clear_clients
from providers.guards import reset_breakers, reset_limiters


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch) -> Iterator[None]:
    """Fresh process-wide breakers, limiters, clients and LocalAgent dirs for every test;
    the OS keyring is the "fail" backend unless a test installs another."""
    import keyring
    from keyring.backends import fail

    from localagent.redact import REGISTRY

    monkeypatch.setenv("LOCALAGENT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LOCALAGENT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LOCALAGENT_DATA_DIR", str(tmp_path / "data"))
    for var in [v for v in os.environ if v.startswith("LOCALAGENT_") and v not in (
            "LOCALAGENT_CACHE_DIR", "LOCALAGENT_CONFIG_DIR", "LOCALAGENT_DATA_DIR")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    previous_keyring = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    REGISTRY.clear()
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GOOGLE_API_KEY", "GEMINI_API_KEY",
                "PPLX_API_KEY", "PERPLEXITY_API_KEY", "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    reset_breakers()
    reset_limiters()
    clear_clients()
    yield
    keyring.set_keyring(previous_keyring)
    reset_breakers()
    reset_limiters()
    clear_clients()


def _fresh_server() -> Iterator[HTTPServer]:
    # One server per test: a slow handler left over from an earlier test must not
    # block this test's requests.
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def httpserver() -> Iterator[HTTPServer]:
    """Overrides pytest-httpserver's session-wide server with a per-test one."""
    yield from _fresh_server()


@pytest.fixture
def backup_server() -> Iterator[HTTPServer]:
    yield from _fresh_server()


@pytest.fixture
def refused_url() -> str:
    """A loopback address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def audit(tmp_path):
    """An audit log of the test's own (the security tests read it back)."""
    from localagent.audit import AuditLog

    return AuditLog(tmp_path / "audit.jsonl")

"""``localagent providers``: list (no network), health and models against OpenAI-wire fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from providers.errors import ErrorKind
from providers.guards import breaker_for
from tests.cli_util import run, write_user_config
from tests.wire import http_error


def serve_models(server: HTTPServer, ids: list[str]) -> None:
    """OpenAI's GET /v1/models, as the SDK's ``models.list()`` reads it."""
    server.expect_request("/v1/models", method="GET").respond_with_json(
        {"object": "list",
         "data": [{"id": i, "object": "model", "created": 0, "owned_by": "test"} for i in ids]})


def compatible_at(url: str, **extra: Any) -> dict[str, Any]:
    return {"openai-compatible": {"base_url": f"{url.rstrip('/')}/v1", **extra}}


def test_list_says_what_is_configured_without_network(tmp_path: Path, httpserver: HTTPServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-list-canary-1234567890abcdef")
    write_user_config({"providers": compatible_at(httpserver.url_for(""), model="qwen"),
                            "system": {"default_provider": "openai-compatible,ollama"}})
    code, _, err = run("keys", "set", "perplexity", "--value", "pplx-storedkeycanary0123456")
    assert code == 0, err

    code, out, _ = run("--format", "json", "providers", "list")

    assert code == 0
    rows = {row["provider"]: row for row in json.loads(out)}
    assert set(rows) == {"gemini", "local", "ollama", "openai", "openai-compatible",
                         "perplexity"}
    compatible = rows["openai-compatible"]
    assert (compatible["configured"], compatible["chain"], compatible["default_model"]) == (
        True, 1, "qwen")
    assert compatible["setup"] == f"base_url {httpserver.url_for('').rstrip('/')}/v1"
    assert rows["ollama"]["chain"] == 2 and rows["ollama"]["setup"] == "defaults"
    assert rows["openai"] == {**rows["openai"], "configured": True, "chain": None,
                              "setup": "API key from env OPENAI_API_KEY",
                              "default_model": "gpt-4o-mini", "breaker": "closed"}
    assert rows["perplexity"]["setup"] == "API key from the encrypted-file store"
    assert (rows["gemini"]["configured"], rows["gemini"]["setup"]) == (False, "needs api_key")
    assert "canary" not in out
    assert httpserver.log == []  # listing never calls a provider
    audit = (tmp_path / "data" / "audit.jsonl").read_text()
    assert '"key_use"' not in audit  # listing says a key exists, it does not use it


def test_list_follows_the_global_provider_flag_and_chain_names(tmp_path: Path) -> None:
    write_user_config({"chains": {"fast": ["gemini", "ollama:qwen3"]}})
    code, out, _ = run("--provider", "fast", "--format", "json", "providers", "list")
    assert code == 0
    chain = {row["provider"]: row["chain"] for row in json.loads(out)}
    assert chain == {"gemini": 1, "ollama": 2, "local": None, "openai": None,
                     "openai-compatible": None, "perplexity": None}


def test_list_shows_an_open_breaker(tmp_path: Path, httpserver: HTTPServer) -> None:
    write_user_config({"providers": compatible_at(httpserver.url_for(""))})
    host = httpserver.url_for("").split("//")[1].rstrip("/")
    breaker_for(f"openai-compatible:default@{host}").record_failure(ErrorKind.UNREACHABLE)
    code, out, _ = run("--format", "json", "providers", "list")
    assert code == 0
    breakers = {row["provider"]: row["breaker"] for row in json.loads(out)}
    assert breakers["openai-compatible"] == "open"
    assert breakers["ollama"] == "closed"


def test_health_reports_each_provider_of_the_chain(tmp_path: Path, httpserver: HTTPServer,
                                                   refused_url: str) -> None:
    serve_models(httpserver, ["qwen3", "llama3"])
    write_user_config({"providers": {**compatible_at(httpserver.url_for("")),
                                          "ollama": {"base_url": refused_url}},
                            "system": {"default_provider": "ollama,openai-compatible,openai"}})

    code, out, _ = run("--format", "json", "providers", "health")

    assert code == 0
    ollama, compatible, openai = json.loads(out)
    assert (ollama["spec"], ollama["reachable"], ollama["set_up"]) == ("ollama", False, True)
    assert "Connect" in ollama["error"]
    assert compatible["reachable"] is True and compatible["auth_ok"] is True
    assert compatible["models"] == 2 and compatible["latency"] >= 0
    assert compatible["name"].startswith("openai-compatible:default@127.0.0.1:")
    assert (openai["set_up"], openai["reachable"]) == (False, False)
    assert "no OpenAI API key" in openai["error"]
    # health asks for the model list only: no tokens spent
    assert [(req.method, req.path) for req, _ in httpserver.log] == [("GET", "/v1/models")]

    breaker_for(compatible["name"]).record_failure(ErrorKind.UNREACHABLE)
    code, out, _ = run("providers", "health", "--provider", "openai-compatible")
    assert code == 0
    [line] = [line for line in out.splitlines() if "openai-compatible" in line]
    assert "│ yes " in line and "│ open " in line


def test_health_exits_1_when_nothing_is_reachable(tmp_path: Path, refused_url: str) -> None:
    write_user_config({"providers": compatible_at(refused_url)})
    code, out, _ = run("--format", "json", "providers", "health", "--provider",
                       "openai-compatible")
    assert code == 1
    [row] = json.loads(out)
    assert row["reachable"] is False and row["set_up"] is True


def test_health_reports_a_refused_key(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/models").respond_with_handler(
        http_error(401, message="invalid api key"))
    write_user_config({"providers": compatible_at(httpserver.url_for(""))})
    code, out, _ = run("--format", "json", "providers", "health", "--provider",
                       "openai-compatible")
    [row] = json.loads(out)
    assert code == 0  # reachable, even though the key is refused
    assert (row["reachable"], row["auth_ok"]) == (True, False)


def test_models_of_one_provider_and_of_the_chain(tmp_path: Path, httpserver: HTTPServer,
                                                 refused_url: str) -> None:
    serve_models(httpserver, ["zeta", "alpha", "default"])
    write_user_config({"providers": {**compatible_at(httpserver.url_for("")),
                                          "ollama": {"base_url": refused_url}},
                            "system": {"default_provider": "ollama,openai-compatible"}})

    code, out, _ = run("--format", "json", "providers", "models", "openai-compatible")
    assert code == 0
    assert json.loads(out) == [{"provider": "openai-compatible", "default": "default",
                                "models": ["alpha", "default", "zeta"], "error": None}]

    code, out, _ = run("providers", "models")  # the chain: one provider down, one up
    assert code == 0
    assert "alpha" in out and "zeta" in out and "ollama" in out and "error:" in out

    code, out, _ = run("--format", "yaml", "providers", "models", "nope")
    assert code == 1
    assert "unknown provider 'nope'" in yaml.safe_load(out)[0]["error"]


def test_python_m_providers_models_says_in_one_line_that_ollama_is_down(
        refused_url: str) -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "providers", "models", "ollama"],
                            env={**os.environ, "OLLAMA_HOST": refused_url},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: [ollama] ") and line.endswith("(is ollama running?)")

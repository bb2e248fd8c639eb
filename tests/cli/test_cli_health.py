"""``localagent health`` / ``doctor``: one line per check, exit 1 when one fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from tests.cli_util import run, write_user_config

CHECKS = ["config", "key store", "usable provider", "checkpoint db", "cache dir",
          "embedded model", "sandbox", "disk space"]


def serve_models(server: HTTPServer) -> None:
    server.expect_request("/v1/models", method="GET").respond_with_json(
        {"object": "list", "data": [{"id": "qwen3", "object": "model", "created": 0,
                                     "owned_by": "test"}]})


def healthy(tmp_path: Path, server: HTTPServer, chain: str = "openai-compatible",
            **providers: Any) -> None:
    serve_models(server)
    write_user_config({
        "providers": {"openai-compatible": {"base_url": server.url_for("/v1")}, **providers},
        "system": {"default_provider": chain}})


def by_check(out: str) -> dict[str, dict[str, str]]:
    return {row["check"]: row for row in json.loads(out)}


def test_healthy_setup_exits_0_with_every_line(tmp_path: Path, httpserver: HTTPServer) -> None:
    healthy(tmp_path, httpserver)
    code, out, _ = run("health")
    assert code == 0, out
    lines = out.splitlines()
    checks = [line[6:] for line in lines if line[:5].strip() in ("ok", "warn", "fail")]
    for check in CHECKS:
        assert any(line.startswith(check) for line in checks), check
    assert not any(line.startswith("fail") for line in lines)
    assert any(line.startswith("ok") and "provider openai-compatible:default@127.0.0.1" in line
               and "1 models" in line for line in lines)

    code, out, _ = run("--format", "json", "doctor")  # the alias, same checks
    assert code == 0
    rows = by_check(out)
    assert set(CHECKS) <= set(rows)
    assert all(set(row) == {"check", "status", "detail", "hint"} for row in rows.values())
    assert rows["config"]["status"] == "ok"
    assert str(tmp_path / "config" / "config.yaml") in rows["config"]["detail"]
    assert rows["key store"]["detail"].startswith("encrypted-file store at ")
    assert "openai-compatible:default@" in rows["usable provider"]["detail"]
    assert rows["embedded model"]["status"] == "ok"  # 'local' is not in this chain
    assert rows["checkpoint db"]["detail"].endswith("(created on the first run)")
    assert rows["sandbox"] == {"check": "sandbox", "status": "ok",
                               "detail": "bwrap (/usr/bin/bwrap), no network", "hint": ""}
    assert "doctor" not in run("--help")[1]


def test_a_missing_sandbox_is_reported_with_how_to_install_it(
        tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from localagent.security import landlock

    healthy(tmp_path, httpserver)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # a machine without bwrap...
    row = by_check(run("--format", "json", "health")[1])["sandbox"]
    assert row["status"] == "ok" and row["detail"].startswith("landlock (ABI ")
    assert "apt-get install bubblewrap" in row["hint"]
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)  # ...and without Landlock
    code, out, _ = run("--format", "json", "health")
    row = by_check(out)["sandbox"]
    assert code == 0 and row["status"] == "warn"
    assert row["detail"].startswith("missing: bwrap is not installed")
    assert "will ask for approval each time" in row["detail"]
    assert "apt-get install bubblewrap" in row["hint"]
    write_user_config({**yaml.safe_load((tmp_path / "config" / "config.yaml").read_text()),
                       "security": {"sandbox": "bwrap"}})
    code, out, _ = run("--format", "json", "health")
    row = by_check(out)["sandbox"]
    assert code == 1 and row["status"] == "fail"
    assert row["detail"].startswith("security.sandbox is bwrap, but bwrap is not installed")


def test_first_reachable_provider_is_named(tmp_path: Path, httpserver: HTTPServer,
                                           refused_url: str) -> None:
    missing = tmp_path / "missing.gguf"
    healthy(tmp_path, httpserver, "ollama,openai-compatible,local",
            ollama={"base_url": refused_url}, local={"model_path": str(missing)})
    code, out, _ = run("--format", "json", "health")
    rows = by_check(out)
    assert code == 0  # one usable provider is enough
    [ollama] = [row for name, row in rows.items() if name.startswith("provider ollama:")]
    assert ollama["status"] == "warn" and "unreachable" in ollama["detail"]
    assert "ollama serve" in ollama["hint"]
    assert rows["provider local"]["status"] == "warn"
    assert f"{missing} does not exist" in rows["provider local"]["detail"]
    assert rows["usable provider"]["detail"].startswith("openai-compatible:default@")
    assert "(1 of 3 in the default chain usable)" in rows["usable provider"]["detail"]
    assert rows["embedded model"]["status"] == "warn"
    assert "providers.local.model_path" in rows["embedded model"]["hint"]


def test_no_usable_provider_fails(tmp_path: Path, refused_url: str) -> None:
    write_user_config({"providers": {"ollama": {"base_url": refused_url}},
                            "system": {"default_provider": "ollama,openai"}})
    code, out, _ = run("--format", "json", "health")
    rows = by_check(out)
    assert code == 1
    assert rows["usable provider"]["status"] == "fail"
    assert "keys set openai" in rows["provider openai"]["hint"]


def test_broken_project_config_fails_with_its_error(tmp_path: Path, refused_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", refused_url)  # the defaults' chain: nothing to reach
    project = tmp_path / ".localagent" / "config.yaml"
    project.parent.mkdir()
    project.write_text("workflow:\n  max_iteratons: 3\n")

    code, out, _ = run("health")

    assert code == 1
    [line] = [line for line in out.splitlines() if line.split()[1:2] == ["config"]]
    assert line.startswith("fail")
    assert f"{project}: workflow.max_iteratons: unknown key 'max_iteratons'" in out
    assert "(did you mean 'max_iterations'?)" in out
    assert "localagent config validate" in out
    assert any(line.startswith("ok") and "checkpoint db" in line for line in out.splitlines())


def test_unreadable_checkpoint_db_fails(tmp_path: Path, httpserver: HTTPServer) -> None:
    healthy(tmp_path, httpserver)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "checkpoints.sqlite").write_bytes(b"not a database, just bytes" * 200)
    code, out, _ = run("--format", "yaml", "health")
    rows = {row["check"]: row for row in yaml.safe_load(out)}
    assert code == 1
    assert rows["checkpoint db"]["status"] == "fail"
    assert "not a database" in rows["checkpoint db"]["detail"]
    assert "move it away" in rows["checkpoint db"]["hint"]


def test_damaged_key_store_fails_but_providers_are_still_checked(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    healthy(tmp_path, httpserver)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keys.enc").write_bytes(b"garbage\n")
    code, out, _ = run("--format", "json", "health")
    rows = by_check(out)
    assert code == 1
    assert rows["key store"]["status"] == "fail"
    assert "cannot be decrypted" in rows["key store"]["detail"]
    assert rows["usable provider"]["status"] == "ok"

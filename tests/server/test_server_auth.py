"""Server auth and limits over real HTTP: keys from the CLI (hashed, shown once), no key 401,
wrong scope 403, revoked 401, JWT, per-key rate limit 429, oversize 413, audit; CORS off
unless configured; /health open."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.cli_util import run, write_user_config
from tests.server_util import ANSWER, Upstream, configure, serving
from tests.services import postgres_url
from tests.wire import OPENAI, serve

__all__ = ["postgres_url"]  # the fixture

HI = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream_url(httpserver: HTTPServer) -> str:
    serve(httpserver, OPENAI, Upstream())
    return httpserver.url_for("").rstrip("/")


def _create(name: str, *scopes: str) -> str:
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    code, out, err = run("server", "keys", "create", name, *args)
    assert code == 0, err
    return out.strip()


def _app(**server: Any) -> Any:
    from localagent.config.loader import load_settings
    from localagent.server.app import create_app

    return create_app(load_settings())


@pytest.fixture
def started(upstream_url: str) -> Iterator[str]:
    configure(upstream_url)
    with serving(_app()) as url:
        yield url


def _chat(url: str, key: str | None, body: dict[str, Any] = HI) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def test_keys_are_shown_once_and_stored_hashed(tmp_path: Path) -> None:
    key = _create("ci", "chat", "runs")
    assert key.startswith("la-")
    stored = Path(os.environ["LOCALAGENT_DATA_DIR"]) / "server-keys.json"
    text = stored.read_text()
    assert key not in text and key.split("-", 2)[2] not in text
    assert stored.stat().st_mode & 0o777 == 0o600
    assert (stored.parent / "server-secret").stat().st_mode & 0o777 == 0o600
    code, out, _ = run("--format", "json", "server", "keys", "list")
    rows = json.loads(out)
    assert code == 0 and [(r["name"], r["scopes"]) for r in rows] == [("ci", "chat runs")]
    assert key not in out and "digest" not in out
    code, _, err = run("server", "keys", "create", "ci")
    assert code == 2 and "exists" in err
    code, _, err = run("server", "keys", "create", "x", "--scope", "root")
    assert code == 2 and "scopes are chat, runs, admin" in err


def test_no_key_wrong_scope_revoked_and_audit(started: str) -> None:
    chat = _create("app", "chat")
    runs_only = _create("runner", "runs")
    admin = _create("boss", "admin")
    assert httpx.get(f"{started}/health").status_code == 200  # open
    missing = _chat(started, None)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert _chat(started, "la-deadbeef-not-a-key").status_code == 401
    scoped = _chat(started, runs_only)
    assert scoped.status_code == 403 and scoped.json()["error"]["code"] == "insufficient_scope"
    assert _chat(started, chat).json()["choices"][0]["message"]["content"] == ANSWER
    assert _chat(started, admin).status_code == 200  # admin has every scope
    assert httpx.get(f"{started}/v1/models", headers={
        "Authorization": f"Bearer {chat}"}).status_code == 200
    assert httpx.get(f"{started}/v1/models").status_code == 401
    assert run("server", "keys", "revoke", "app")[0] == 0
    time.sleep(1.1)  # the server reads the key file at most once a second
    revoked = _chat(started, chat)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    _, out, _ = run("--format", "json", "server", "keys", "list", "--all")
    assert [r["name"] for r in json.loads(out) if r["revoked"]] == ["app"]

    from localagent.audit import AuditLog

    log = AuditLog().path.read_text()
    events = [json.loads(line) for line in log.splitlines()]
    failures = [e for e in events if e["event"] == "server_auth_failed"]
    assert [e["reason"] for e in failures] == ["missing", "unknown key", "scope chat",
                                              "missing", "revoked"]
    assert all(e["path"] == "/v1/chat/completions" or e["path"] == "/v1/models"
               for e in failures)
    for key in (chat, runs_only, admin, "la-deadbeef-not-a-key"):
        assert key not in log


def test_openai_client_with_a_key(started: str) -> None:
    from openai import AuthenticationError, OpenAI, PermissionDeniedError

    key = _create("sdk", "chat")
    client = OpenAI(base_url=f"{started}/v1", api_key=key, max_retries=0)
    reply = client.chat.completions.create(model="default",
                                           messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == ANSWER
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{started}/v1", api_key="wrong", max_retries=0).models.list()
    runs = _create("runs", "runs")
    with pytest.raises(PermissionDeniedError):
        OpenAI(base_url=f"{started}/v1", api_key=runs, max_retries=0).models.list()


def test_rate_limit_per_key(upstream_url: str) -> None:
    configure(upstream_url, rate_limit=2)
    first, second = _create("a", "chat"), _create("b", "chat")
    with serving(_app()) as url:
        assert [_chat(url, first).status_code for _ in range(2)] == [200, 200]
        limited = _chat(url, first)
        assert limited.status_code == 429
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert int(limited.headers["retry-after"]) >= 1
        assert _chat(url, second).status_code == 200  # per key


def test_body_and_message_size_limits(upstream_url: str) -> None:
    configure(upstream_url, max_body_bytes=4096)
    with serving(_app()) as url:
        big = {"model": "default", "messages": [{"role": "user", "content": "x" * 5000}]}
        declared = _chat(url, None, big)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            data = json.dumps(big).encode()
            for start in range(0, len(data), 1000):
                yield data[start:start + 1000]

        streamed = httpx.post(f"{url}/v1/chat/completions", content=chunks(), timeout=30)
        assert streamed.status_code == 413
    from tests.cli_util import write_user_config

    configure(upstream_url)
    import yaml

    config = Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["security"] = {"max_message_chars": 1000}
    write_user_config(data)
    with serving(_app()) as url:
        long = _chat(url, None, {"model": "default",
                                 "messages": [{"role": "user", "content": "y" * 2000}]})
    assert long.status_code == 413 and "messages[0]" in long.json()["error"]["message"]


def test_jwt_hs256(upstream_url: str) -> None:
    import jwt

    secret = "a-shared-secret-of-32-bytes-or-more!"
    configure(upstream_url, jwt={"secret": secret, "audience": "localagent"})
    now = int(time.time())

    def token(**claims: Any) -> str:
        base = {"sub": "svc", "aud": "localagent", "exp": now + 60, "scope": "chat"}
        return jwt.encode({**base, **claims}, secret, algorithm="HS256")

    with serving(_app()) as url:
        assert _chat(url, token()).status_code == 200
        assert _chat(url, token(scope="runs")).status_code == 403
        assert _chat(url, token(exp=now - 10)).status_code == 401
        assert _chat(url, token(aud="other")).status_code == 401
        forged = jwt.encode({"sub": "svc", "aud": "localagent", "exp": now + 60,
                             "scope": "admin"}, "another-secret-of-32-bytes-or-more!!",
                            algorithm="HS256")
        assert _chat(url, forged).status_code == 401
        assert _chat(url, None).status_code == 401


def test_cors_off_unless_configured(upstream_url: str) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    configure(upstream_url)
    with serving(_app()) as url:
        response = httpx.options(f"{url}/v1/chat/completions", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    configure(upstream_url, cors_origins=["https://app.example"])
    with serving(_app()) as url:
        response = httpx.options(f"{url}/v1/chat/completions", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        answer = _chat(url, None)
        assert answer.status_code == 200


def test_ready_checks_database_and_a_provider(upstream_url: str, refused_url: str) -> None:
    configure(upstream_url)
    with serving(_app()) as url:
        ready = httpx.get(f"{url}/ready", timeout=30)
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"]["ok"] is True
        assert ready.json()["providers"][0]["reachable"] is True
    configure(refused_url)
    with serving(_app()) as url:
        down = httpx.get(f"{url}/ready", timeout=30)
    assert down.status_code == 503 and down.json()["ready"] is False


def test_metrics_open_unless_metrics_auth(upstream_url: str) -> None:
    key = _create("ops", "chat")
    configure(upstream_url)
    with serving(_app()) as url:
        assert _chat(url, key).status_code == 200
        assert _chat(url, None).status_code == 401
        text = httpx.get(f"{url}/metrics").text  # open by default
    assert 'localagent_server_requests_total{route="/v1/chat/completions",status="200"} 1.0' \
        in text
    assert 'route="/v1/chat/completions",status="401"} 1.0' in text
    assert key not in text
    configure(upstream_url, metrics_auth=True)
    with serving(_app()) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{url}/metrics", headers=auth).status_code == 200


def test_jwt_from_a_jwks_file(upstream_url: str, tmp_path: Path) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(issuer_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    configure(upstream_url, jwt={"jwks_file": str(jwks), "issuer": "https://id.example"})
    claims = {"sub": "svc", "iss": "https://id.example", "exp": int(time.time()) + 60,
              "scope": "chat runs"}
    with serving(_app()) as url:
        good = jwt.encode(claims, issuer_key, algorithm="RS256", headers={"kid": "k1"})
        assert _chat(url, good).status_code == 200
        forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "k1"})
        assert _chat(url, forged).status_code == 401
        wrong_issuer = jwt.encode({**claims, "iss": "https://evil.example"}, issuer_key,
                                  algorithm="RS256", headers={"kid": "k1"})
        assert _chat(url, wrong_issuer).status_code == 401


def test_ready_checks_a_postgres_checkpoint_database(postgres_url: str) -> None:
    from localagent.config.loader import load_settings
    from localagent.server.ready import _database
    from tests.services import free_port

    secret = postgres_url.replace("postgres@", "postgres:hunter2-secret@")
    write_user_config({"system": {"checkpoint_url": secret}})
    up = _database(load_settings())
    assert up["ok"] is True and up["status"].startswith("PostgreSQL"), up
    assert "hunter2" not in json.dumps(up)
    down_url = f"postgresql://postgres:hunter2-secret@127.0.0.1:{free_port()}/none"
    write_user_config({"system": {"checkpoint_url": down_url}})
    down = _database(load_settings())
    assert down["ok"] is False and down["error"] and "hunter2" not in json.dumps(down)

"""The runs API inside the server app (``localagent.server.app.create_app``): its auth in
front of every route, the WebSocket included, and its error shape. Runs once the app is in
the build (it is built separately from the runs API)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer

from tests.cli_util import run
from tests.graph.test_workflow import model, repo
from tests.graph_fakes import scripted_provider
from tests.runs_server import serving

server_app = pytest.importorskip("localagent.server.app")
__all__ = ["repo"]


def _key(name: str, scope: str) -> str:
    code, out, err = run("server", "keys", "create", name, "--scope", scope)
    assert code == 0, err
    return out.strip()


def test_the_app_guards_the_runs_api_with_the_runs_scope(repo: Path,
                                                        httpserver: HTTPServer) -> None:
    from websockets.sync.client import connect

    from localagent.config.loader import load_settings

    scripted_provider(httpserver, model())
    path = Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml"
    config = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**config, "server": {"workspace_roots": [str(repo.parent)]}}))
    runs_key, chat_key = _key("runner", "runs"), _key("chatter", "chat")
    body = {"request": "fix add", "workspace": str(repo)}
    with serving(server_app.create_app(load_settings())) as url:
        assert httpx.post(f"{url}/v1/runs", json=body).status_code == 401
        wrong = httpx.post(f"{url}/v1/runs", json=body,
                           headers={"Authorization": f"Bearer {chat_key}"})
        assert wrong.status_code == 403
        auth = {"Authorization": f"Bearer {runs_key}"}
        outside = httpx.post(f"{url}/v1/runs", json={**body, "workspace": "/etc"}, headers=auth)
        assert outside.status_code == 403
        assert "outside server.workspace_roots" in outside.json()["error"]["message"]
        started = httpx.post(f"{url}/v1/runs", json=body, headers=auth)
        assert started.status_code == 201, started.text
        socket_url = url.replace("http://", "ws://") + f"/v1/runs/{started.json()['id']}/ws"
        with connect(socket_url, additional_headers=auth) as socket:
            received = [json.loads(str(message)) for message in socket]
        assert received[-1]["status"] == "waiting"
        assert received[-1]["interrupt"]["type"] == "confirm_scope"

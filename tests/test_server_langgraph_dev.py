"""`langgraph dev` mounts the server's app (langgraph.json ``http.app``): the gateway's
routes answer beside LangGraph's, with the configured providers and the same auth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.cli_util import run
from tests.server_util import ANSWER, Upstream, configure
from tests.test_langgraph_dev import ROOT, _free_port, _wait_ready
from tests.wire import OPENAI, serve


def _config() -> str:
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["graphs"] = {name: str(ROOT / spec) for name, spec in config["graphs"].items()}
    config["dependencies"] = [str(ROOT / dep) for dep in config["dependencies"]]
    config["http"]["app"] = str(ROOT / config["http"]["app"])
    return json.dumps(config)


@pytest.fixture
def dev_server(tmp_path: Path, httpserver: HTTPServer) -> Iterator[str]:
    serve(httpserver, OPENAI, Upstream())
    configure(httpserver.url_for("").rstrip("/"))
    port, log = _free_port(), tmp_path / "langgraph-dev.log"
    home = tmp_path / "server"
    home.mkdir()
    (home / "langgraph.json").write_text(_config())
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false"}
    langgraph = Path(sys.executable).parent / "langgraph"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(langgraph), "dev", "--no-browser", "--no-reload", "--port", str(port),
             "--config", str(home / "langgraph.json")],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(log.read_text()[-3000:])


def test_langgraph_dev_serves_the_gateway(dev_server: str) -> None:
    key = run("server", "keys", "create", "studio", "--scope", "chat")[1].strip()
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{dev_server}/v1/models", timeout=10).status_code == 401
    models = httpx.get(f"{dev_server}/v1/models", headers=auth, timeout=10)
    assert models.status_code == 200
    assert "default" in [m["id"] for m in models.json()["data"]]
    answer = httpx.post(f"{dev_server}/v1/chat/completions", headers=auth, timeout=30,
                        json={"model": "default",
                              "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == ANSWER
    assert httpx.get(f"{dev_server}/ok", timeout=10).status_code == 200  # LangGraph's own

"""`langgraph dev` mounts the server's app (langgraph.json ``http.app``): the gateway's
routes answer beside LangGraph's, with the configured providers and the same auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.cli_util import run
from tests.graph.test_langgraph_dev import langgraph_dev
from tests.server_util import ANSWER, Upstream, configure
from tests.wire import OPENAI, serve


@pytest.fixture
def dev_server(tmp_path: Path, httpserver: HTTPServer) -> Iterator[str]:
    serve(httpserver, OPENAI, Upstream())
    configure(httpserver.url_for("").rstrip("/"))
    yield from langgraph_dev(tmp_path)


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

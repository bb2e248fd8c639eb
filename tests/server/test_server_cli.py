"""``localagent server start`` in a real process: it serves, warns when bound publicly with
no key, and on SIGTERM stops accepting but lets a stream in flight finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.graph.test_langgraph_dev import _free_port
from tests.server_util import configure
from tests.wire import OPENAI

WORDS = ["one", "two", "three", "four", "five"]


def _slow_stream(request: Request) -> Response:
    events = OPENAI.encode(OPENAI.events(" ".join(WORDS)))

    def body() -> Iterator[bytes]:
        for event in events:
            yield event
            time.sleep(0.3)

    return Response(body(), content_type="text/event-stream")


def _start(*args: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "localagent", "server", "start",
                                 "--port", str(port), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the server did not start:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_sigterm_lets_a_stream_finish_and_refuses_new_connections(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_handler(_slow_stream)
    configure(httpserver.url_for("").rstrip("/"), shutdown_grace=20)
    proc, port = _start(log=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    lines: list[str] = []
    first = threading.Event()

    def read() -> None:
        body = {"model": "default", "stream": True,
                "messages": [{"role": "user", "content": "count"}]}
        with httpx.stream("POST", url, json=body, timeout=30) as response:
            for line in response.iter_lines():
                if line:
                    lines.append(line)
                    first.set()

    reader = threading.Thread(target=read)
    try:
        reader.start()
        assert first.wait(20)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.ConnectError):  # no longer accepting
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        reader.join(30)
        # uvicorn re-raises the signal once it has shut down gracefully
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        _stop(proc)
    assert lines[-1] == "data: [DONE]"
    text = "".join(choice["delta"].get("content") or ""
                   for line in lines[:-1] for choice in json.loads(line[6:])["choices"])
    assert text == " ".join(WORDS)


def test_public_bind_without_keys_warns(tmp_path: Path, httpserver: HTTPServer) -> None:
    configure(httpserver.url_for("").rstrip("/"))
    log = tmp_path / "server.log"
    proc, _ = _start("--host", "0.0.0.0", log=log)
    _stop(proc)
    assert "warning: serving on 0.0.0.0 with no API key" in log.read_text()
    proc, _ = _start(log=log)  # loopback: no warning
    _stop(proc)
    assert "warning" not in log.read_text()

"""Provider state shared by real processes through the machine's Redis: one rate-limit
budget, one breaker (and one half-open probe), one response cache. Each process is
tests/shared_worker.py: the real OpenAI client against wire fakes that count what reaches
them.

The rate-limit test scales time: 300 rpm for 12 s is the same budget (60 requests) as the
issue's 120 rpm for 30 s, at five requests a second instead of two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.services import REDIS_URL, redis_prefix, threaded_server
from tests.wire import OPENAI

__all__ = ["redis_prefix", "threaded_server"]  # the fixtures
pytestmark = pytest.mark.slow  # many processes
ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[Request], Response]


class Counted:
    """A chat-completions endpoint that counts (and times) what reaches it; its behaviour
    can be swapped mid-test."""

    def __init__(self, server: HTTPServer, handler: Handler) -> None:
        self.handler = handler
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        server.expect_request("/v1/chat/completions").respond_with_handler(self)
        self.url = server.url_for("").rstrip("/")

    def __call__(self, request: Request) -> Response:
        if b"warm-up" not in request.get_data():
            with self._lock:
                self.arrivals.append(time.monotonic())
        return self.handler(request)


def failing(request: Request) -> Response:
    return Response(json.dumps({"error": {"message": "injected", "type": "server_error"}}),
                    status=500, content_type="application/json")


def slowly(seconds: float) -> Handler:
    answer = OPENAI.reply("from a")

    def handle(request: Request) -> Response:
        time.sleep(seconds)
        return answer(request)

    return handle


@contextmanager
def workers(count: int, spec: dict[str, Any]) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` worker processes, started together once every one has built its model."""
    procs = [subprocess.Popen([sys.executable, "-m", "tests.shared_worker", json.dumps(spec)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
             for _ in range(count)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            assert line.strip() == "READY", proc.stderr.read() if proc.stderr else line
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def results(procs: list[subprocess.Popen[str]]) -> list[list[dict[str, Any]]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        out.append([json.loads(line) for line in stdout.splitlines() if line.strip()])
    return out


def spec(prefix: str, *urls: str, **extra: Any) -> dict[str, Any]:
    return {"redis": REDIS_URL, "prefix": prefix, "urls": list(urls), **extra}


def test_four_processes_share_one_rate_limit(threaded_server: HTTPServer,
                                             redis_prefix: str) -> None:
    endpoint = Counted(threaded_server, OPENAI.reply("ok"))
    rpm, seconds = 300, 12.0
    budget = rpm / 60 * seconds  # 60 requests, as 120 rpm over 30 s
    policy = {"limits": {"rpm": rpm, "request_burst": 1, "max_wait_seconds": 30},
              "retry": {"max_retries": 0}}
    # two callers per process: demand is always over the budget, however slow the machine
    with workers(4, spec(redis_prefix, endpoint.url, policy=policy, seconds=seconds,
                         threads=2, warm_up=True)) as procs:
        per_process = results(procs)
    first = endpoint.arrivals[0]
    admitted = sum(1 for t in endpoint.arrivals if t < first + seconds)
    assert abs(admitted - budget) <= 0.02 * budget, (admitted, budget)
    answered = [len(lines) for lines in per_process]
    # served in arrival order: every process gets its share, none starves
    assert min(answered) >= 0.6 * max(answered), answered
    assert all(line["provider"] for lines in per_process for line in lines)


def test_a_breaker_opened_in_one_process_is_skipped_by_the_others(
        threaded_server: HTTPServer, httpserver: HTTPServer, redis_prefix: str) -> None:
    bad = Counted(threaded_server, failing)
    good = Counted(httpserver, OPENAI.reply("from b"))
    policy = {"breaker": {"failure_threshold": 2, "minimum_requests": 2, "open_seconds": 300},
              "retry": {"max_retries": 0}}
    common = spec(redis_prefix, bad.url, good.url, policy=policy)
    with workers(1, common) as procs:
        (one,) = results(procs)
    with workers(1, common) as procs:  # the second failure, in another process, opens it
        (two,) = results(procs)
    assert [line["attempts"] for line in one + two] == [["server_error", "ok"]] * 2
    assert len(bad.arrivals) == 2

    with workers(3, common) as procs:
        others = [line for lines in results(procs) for line in lines]
    assert len(bad.arrivals) == 2  # none of them went there
    assert [line["attempts"] for line in others] == [["breaker_open", "ok"]] * 3
    assert {line["provider"] for line in others} == {
        f"openai-compatible:m@{good.url.removeprefix('http://')}"}


def test_one_half_open_probe_across_all_processes(
        threaded_server: HTTPServer, httpserver: HTTPServer, redis_prefix: str) -> None:
    bad = Counted(threaded_server, failing)
    good = Counted(httpserver, OPENAI.reply("from b"))
    policy = {"breaker": {"failure_threshold": 1, "minimum_requests": 1, "open_seconds": 1.0},
              "retry": {"max_retries": 0}}
    common = spec(redis_prefix, bad.url, good.url, policy=policy, warm_up=True)
    with workers(1, common) as procs:
        results(procs)  # its failure opens the breaker for everyone
    assert len(bad.arrivals) == 1
    bad.handler = slowly(5.0)  # healthy again, and slow: the probe is still out when the
    time.sleep(1.2)            # others ask
    with workers(4, common) as procs:
        lines = [line for per in results(procs) for line in per]
    assert len(bad.arrivals) == 2  # exactly one probe reached it
    probes = [line for line in lines if line["attempts"] == ["ok"]]
    assert len(probes) == 1
    assert sorted(map(tuple, (line["attempts"] for line in lines if line not in probes))) == [
        ("breaker_open", "ok")] * 3
    with workers(1, common) as procs:  # the probe closed it for everyone
        (after,) = results(procs)
    assert after[0]["attempts"] == ["ok"] and len(bad.arrivals) == 3


def test_an_answer_cached_by_one_process_is_a_hit_in_another(
        threaded_server: HTTPServer, redis_prefix: str) -> None:
    endpoint = Counted(threaded_server, OPENAI.reply("cached answer"))
    common = spec(redis_prefix, endpoint.url, cache=True, prompt="same question")
    with workers(1, common) as procs:
        (first,) = results(procs)
    with workers(1, common) as procs:
        (second,) = results(procs)
    assert first[0]["cached"] is False and second[0]["cached"] is True
    assert len(endpoint.arrivals) == 1

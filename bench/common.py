"""Shared pieces of the benchmarks: an in-process model, a local OpenAI-compatible server
that answers like a real one, and interleaved timing."""

from __future__ import annotations

import asyncio
import json
import operator
import socket
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from providers import client_policy


class EchoModel(BaseChatModel):
    """Zero-latency in-process chat model: answers instantly with a fixed message."""

    model_name: str = "echo"
    temperature: float | None = None

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        message = AIMessage(content="pong", usage_metadata={
            "input_tokens": 3, "output_tokens": 1, "total_tokens": 4})
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        return self._generate(messages, stop)


# It answers without waiting on anything, so the wrapper calls it inline on the sync path.
client_policy.register("echo", client_policy.answers_in_process)


class WaitingEchoModel(EchoModel):
    """The same model, of a type the wrapper does not know: sync attempts at it are waited
    for in a worker thread, the price of bounding a client that cannot be told a timeout."""

    @property
    def _llm_type(self) -> str:
        return "echo-unknown"


COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "pong"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}).encode()


class _Handler(BaseHTTPRequestHandler):
    """Answers like a real server: status line, headers and body leave in one write, with
    Nagle off. Two writes (BaseHTTPRequestHandler's headers, then the body) would let Nagle
    and the client's delayed ACK add ~40 ms that no real API adds."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        head = ("HTTP/1.1 200 OK\r\n"
                f"Date: {formatdate(usegmt=True)}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(COMPLETION)}\r\n"
                "\r\n").encode("ascii")
        self.wfile.write(head + COMPLETION)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def openai_server() -> Iterator[str]:
    """A local OpenAI-compatible endpoint answering every chat completion at once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@contextmanager
def hanging_url() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


def openai_client(url: str, timeout: float = 10.0) -> BaseChatModel:
    """ChatOpenAI as the provider factory builds it: one attempt per call."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4o-mini", base_url=url, api_key="sk-bench", max_retries=0,
                      timeout=timeout)


def user_openai_client(url: str) -> BaseChatModel:
    """ChatOpenAI as a user writes it: the SDK's defaults (2 retries, a 10-minute timeout)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4o-mini", base_url=url, api_key="sk-bench")


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    """Seconds per call, one sample per call."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def per_call(fn: Callable[[], Any], n: int, clock: Callable[[], float] = time.perf_counter
             ) -> float:
    """Mean seconds per call over a tight loop of n calls."""
    started = clock()
    for _ in range(n):
        fn()
    return (clock() - started) / n


Rounds = dict[str, list[float]]


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int, n: int,
                clock: Callable[[], float] = time.perf_counter) -> Rounds:
    """Seconds per call of each function in each of ``rounds`` rounds of n calls, run in
    turn (the order flips every round) so drift in the machine's load hits them all alike;
    compare them round by round (``paired``).

    ``clock=time.thread_time`` counts only this thread's CPU: for in-process work on a
    shared machine, time spent descheduled then lands on neither side."""
    for fn in fns.values():  # warm up
        per_call(fn, max(n // 5, 20), clock)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for index in range(rounds):
        order = list(fns.items())
        for name, fn in order[::-1] if index % 2 else order:
            samples[name].append(per_call(fn, n, clock))
    return samples


def interleaved_async(fns: dict[str, Callable[[], Awaitable[Any]]], rounds: int, n: int,
                      clock: Callable[[], float] = time.thread_time) -> Rounds:
    """``interleaved`` for coroutines, all on one event loop."""

    async def per(fn: Callable[[], Awaitable[Any]], count: int) -> float:
        started = clock()
        for _ in range(count):
            await fn()
        return (clock() - started) / count

    async def run() -> Rounds:
        for fn in fns.values():
            await per(fn, max(n // 5, 20))
        samples: dict[str, list[float]] = {name: [] for name in fns}
        for index in range(rounds):
            order = list(fns.items())
            for name, fn in order[::-1] if index % 2 else order:
                samples[name].append(await per(fn, n))
        return samples

    return asyncio.run(run())


def paired(samples: Rounds, key: str, base: str,
           compare: Callable[[float, float], float] = operator.truediv) -> float:
    """The median over rounds of ``compare(key's time, base's time)`` in the same round."""
    return statistics.median(compare(k, b) for k, b in zip(samples[key], samples[base],
                                                           strict=True))


median = statistics.median

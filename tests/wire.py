"""Local fakes of each provider's wire protocol, for the real LangChain clients to talk to.

Each protocol knows how to build its real client against a base URL and how to answer a
request (plain JSON or its streaming format). Faults are werkzeug handlers that any protocol
can serve: HTTP errors, a slow answer, malformed JSON, a stream cut mid-way.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from werkzeug import Request, Response

Handler = Callable[[Request], Response]


def serve(server: Any, protocol: Protocol, handler: Handler) -> None:
    """Answer ``protocol``'s request (and its streaming request) on ``server`` with ``handler``."""
    server.expect_request(protocol.path, method="POST").respond_with_handler(handler)
    if protocol.stream_path != protocol.path:
        server.expect_request(protocol.stream_path, method="POST").respond_with_handler(handler)


def _openai_chunk(delta: dict[str, Any], finish: str | None = None,
                  usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
            "model": "gpt-4o-mini",
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
            **({"usage": usage} if usage else {})}


@dataclass
class Protocol:
    """A provider's wire protocol. ``path`` and ``stream_path`` are what the protocol accepts
    (a regular expression where SDK versions differ, e.g. Gemini's ``/v1beta`` vs ``/v1``),
    not the URL one SDK release happens to call."""

    name: str
    path: str | re.Pattern[str]
    stream_path: str | re.Pattern[str]
    build: Callable[[str, float], BaseChatModel]
    body: Callable[[str], dict[str, Any]]
    events: Callable[[str], list[dict[str, Any]]]
    ndjson: bool = False

    def wants_stream(self, request: Request) -> bool:
        if self.stream_path != self.path:
            return "stream" in request.path.lower()
        try:
            return bool(json.loads(request.get_data() or b"{}").get("stream"))
        except ValueError:
            return False

    def encode(self, events: list[dict[str, Any]], done: bool = True) -> list[bytes]:
        if self.ndjson:
            return [json.dumps(e).encode() + b"\n" for e in events]
        out = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
        if done and self.name in ("openai", "perplexity"):
            out.append(b"data: [DONE]\n\n")
        return out

    def reply(self, text: str) -> Handler:
        """A handler answering every request with ``text``, streamed or not as asked."""

        def handle(request: Request) -> Response:
            if self.wants_stream(request):
                mime = "application/x-ndjson" if self.ndjson else "text/event-stream"
                return Response(b"".join(self.encode(self.events(text))), content_type=mime)
            return Response(json.dumps(self.body(text)), content_type="application/json")

        return handle


# -- OpenAI chat completions -------------------------------------------------------------------
def _openai_build(url: str, timeout: float) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4o-mini", base_url=f"{url}/v1", api_key="sk-test-key",
                      max_retries=0, timeout=timeout, stream_usage=True, temperature=0)


def _openai_body(text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}


def _openai_events(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    return ([_openai_chunk({"role": "assistant", "content": ""})]
            + [_openai_chunk({"content": (w if i == 0 else " " + w)}) for i, w in enumerate(words)]
            + [_openai_chunk({}, finish="stop"),
               _openai_chunk({}, usage={"prompt_tokens": 7, "completion_tokens": 3,
                                        "total_tokens": 10})])


OPENAI = Protocol("openai", "/v1/chat/completions", "/v1/chat/completions", _openai_build,
                  _openai_body, _openai_events)


# -- Ollama /api/chat (NDJSON) -----------------------------------------------------------------
def _ollama_build(url: str, timeout: float) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(model="llama3.2", base_url=url, temperature=0, num_ctx=8192,
                      client_kwargs={"timeout": timeout})


def _ollama_line(content: str, done: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"model": "llama3.2", "created_at": "2026-01-01T00:00:00Z",
                            "message": {"role": "assistant", "content": content}, "done": done}
    if done:
        line.update({"done_reason": "stop", "prompt_eval_count": 7, "eval_count": 3,
                     "total_duration": 1000})
    return line


def _ollama_events(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    return ([_ollama_line(w if i == 0 else " " + w, False) for i, w in enumerate(words)]
            + [_ollama_line("", True)])


OLLAMA = Protocol("ollama", "/api/chat", "/api/chat", _ollama_build,
                  lambda text: _ollama_line(text, True), _ollama_events, ndjson=True)


# -- Gemini generateContent / streamGenerateContent?alt=sse ------------------------------------
def _gemini_build(url: str, timeout: float) -> BaseChatModel:
    from langchain_google_genai import ChatGoogleGenerativeAI

    return ChatGoogleGenerativeAI(model="gemini-2.0-flash", google_api_key="g-test-key",
                                  base_url=url, max_retries=0, timeout=timeout, temperature=0)


def _gemini_piece(text: str, finish: bool) -> dict[str, Any]:
    content = {"role": "model", "parts": [{"text": text}]}
    piece: dict[str, Any] = {"candidates": [{"content": content, "index": 0}],
                             "modelVersion": "gemini-2.0-flash"}
    if finish:
        piece["candidates"][0]["finishReason"] = "STOP"
        piece["usageMetadata"] = {"promptTokenCount": 7, "candidatesTokenCount": 3,
                                  "totalTokenCount": 10}
    return piece


def _gemini_events(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    return [_gemini_piece(w if i == 0 else " " + w, i == len(words) - 1)
            for i, w in enumerate(words)]


# Any API version (v1, v1beta, v1alpha...) and model: google-genai picks the version.
GEMINI = Protocol("gemini", re.compile(r"/v1[a-z0-9]*/models/[^/:]+:generateContent"),
                  re.compile(r"/v1[a-z0-9]*/models/[^/:]+:streamGenerateContent"), _gemini_build,
                  lambda text: _gemini_piece(text, True), _gemini_events)


# -- Perplexity (chat completions with citations) ----------------------------------------------
def _pplx_build(url: str, timeout: float) -> BaseChatModel:
    from providers.builtin.perplexity import build
    from providers.settings import ProviderSettings

    settings = ProviderSettings(base_url=url, api_key="pplx-test-key", timeout=timeout,
                                temperature=0)
    return build("sonar", settings)


CITATIONS = ["https://example.org/a", "https://example.org/b"]


def _pplx_body(text: str) -> dict[str, Any]:
    body = _openai_body(text)
    body["model"] = "sonar"
    body["citations"] = CITATIONS
    body["search_results"] = [{"title": "A", "url": CITATIONS[0]}]
    return body


def _pplx_events(text: str) -> list[dict[str, Any]]:
    events = _openai_events(text)
    for event in events:
        event["model"] = "sonar"
        event["citations"] = CITATIONS
    return events


PERPLEXITY = Protocol("perplexity", "/chat/completions", "/chat/completions", _pplx_build,
                      _pplx_body, _pplx_events)

PROTOCOLS = [OPENAI, OLLAMA, GEMINI, PERPLEXITY]


# -- faults -------------------------------------------------------------------------------------
def http_error(status: int, headers: dict[str, str] | None = None,
               message: str = "injected failure") -> Handler:
    body = json.dumps({"error": {"code": status, "message": message, "status": "INJECTED",
                                 "type": "injected"}})

    def handle(request: Request) -> Response:
        return Response(body, status=status, headers=headers or {},
                        content_type="application/json")

    return handle


def slow(handler: Handler, seconds: float) -> Handler:
    def handle(request: Request) -> Response:
        time.sleep(seconds)
        return handler(request)

    return handle


def malformed() -> Handler:
    def handle(request: Request) -> Response:
        return Response(b'{"id": "x", "choices": [ {not json', content_type="application/json")

    return handle


def cut_stream(protocol: Protocol, text: str, keep: int) -> Handler:
    """Send the first ``keep`` stream events, then drop the connection mid-body."""

    def handle(request: Request) -> Response:
        parts = protocol.encode(protocol.events(text), done=False)
        sent = parts[:keep]
        total = sum(len(p) for p in parts) + 512

        def body() -> Iterator[bytes]:
            yield from sent

        mime = "application/x-ndjson" if protocol.ndjson else "text/event-stream"
        return Response(body(), content_type=mime, headers={"Content-Length": str(total)})

    return handle


def sequence(*handlers: Handler) -> Handler:
    """Answer the n-th request with the n-th handler (the last one repeats)."""
    calls = {"n": 0}

    def handle(request: Request) -> Response:
        index = min(calls["n"], len(handlers) - 1)
        calls["n"] += 1
        return handlers[index](request)

    return handle

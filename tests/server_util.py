"""The server under test: the real app on uvicorn in a thread, on a free port, with an
upstream speaking OpenAI's wire protocol (tests/wire.py) that records what it was sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from tests.cli_util import write_user_config
from tests.wire import OPENAI, _openai_chunk

UPSTREAM_KEY = "sk-upstream-secret-4f9a8b7c6d5e"
ANSWER = "hello from upstream"
TOOL_ARGS = {"city": "Paris"}
STRUCTURED = {"city": "Paris", "population": 2100000}
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on uvicorn in a thread; yields its base URL; stops it after."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _tool_events(name: str) -> list[dict[str, Any]]:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": name, "arguments": ""}}
    args = json.dumps(TOOL_ARGS)
    return [_openai_chunk({"role": "assistant", "content": None, "tool_calls": [call]}),
            _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:6]}}]}),
            _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[6:]}}]}),
            _openai_chunk({}, finish="tool_calls"), _openai_chunk({}, usage=USAGE)]


def _tool_body(name: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function",
            "function": {"name": name, "arguments": json.dumps(TOOL_ARGS)}}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None,
                                     "tool_calls": [call]}}],
            "usage": USAGE}


class Upstream:
    """Answers like OpenAI: a tool call when tools are offered, the JSON of ``STRUCTURED``
    when a response format is asked for, else ``ANSWER``; streamed when asked (with a usage
    chunk when ``stream_options.include_usage`` asks for one)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"{}")
        self.requests.append({"body": body, "auth": request.headers.get("Authorization")})
        stream = bool(body.get("stream"))
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            if stream:
                events = _tool_events(name)
                if not (body.get("stream_options") or {}).get("include_usage"):
                    events = events[:-1]
                return Response(b"".join(OPENAI.encode(events)),
                                content_type="text/event-stream")
            return Response(json.dumps(_tool_body(name)), content_type="application/json")
        text = json.dumps(STRUCTURED) if body.get("response_format") else ANSWER
        if stream:  # like OpenAI: the usage chunk only when asked for
            events = OPENAI.events(text)
            if not (body.get("stream_options") or {}).get("include_usage"):
                events = [e for e in events if "usage" not in e]
            return Response(b"".join(OPENAI.encode(events)), content_type="text/event-stream")
        return OPENAI.reply(text)(request)


def configure(primary: str, backup: str | None = None, *, cache: bool = False,
              **server: Any) -> None:
    """Providers ``openai`` at ``primary`` (and ``openai-compatible`` at ``backup``), the
    chain ``pair`` of both, the default the primary; no retries, so failover is quick."""
    providers: dict[str, Any] = {"openai": {"base_url": f"{primary}/v1", "api_key": UPSTREAM_KEY,
                                            "timeout": 10,
                                            "policy": {"retry": {"max_retries": 0}}}}
    chains = {}
    if backup:
        providers["openai-compatible"] = {"base_url": f"{backup}/v1", "timeout": 10}
        chains["pair"] = ["openai:gpt-4o-mini", "openai-compatible:backup"]
    write_user_config({"system": {"default_provider": "openai:gpt-4o-mini"},
                       "providers": providers, "chains": chains,
                       "caching": {"enabled": cache}, "server": server})


def app_for(tmp_path: Path) -> Any:
    """The app for the test's configuration, with its own key store and audit log."""
    from localagent.audit import AuditLog
    from localagent.config.loader import load_settings
    from localagent.server.app import create_app
    from localagent.server.keys import KeyStore

    return create_app(load_settings(), keys=KeyStore(tmp_path / "keys"),
                      audit=AuditLog(tmp_path / "audit.jsonl"))

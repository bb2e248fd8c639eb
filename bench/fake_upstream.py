"""``python -m bench.fake_upstream PORT LATENCY``: an OpenAI-compatible upstream for G1.

Every chat completion streams (or returns) a fixed answer after ``LATENCY`` seconds, on
uvicorn, so 200 concurrent streams cost it nothing but the wait. It runs in its own process:
the server under test and the load generator must not share its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

WORDS = ["The", " answer", " is", " forty", " two", "."]
USAGE = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}


def _chunk(delta: dict[str, Any], finish: str | None = None,
           usage: dict[str, int] | None = None) -> bytes:
    event = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 0,
             "model": "gpt-4o-mini",
             "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        event["usage"] = usage
    return b"data: " + json.dumps(event).encode() + b"\n\n"


STREAM = (_chunk({"role": "assistant", "content": ""})
          + b"".join(_chunk({"content": w}) for w in WORDS) + _chunk({}, "stop")
          + _chunk({}, usage=USAGE) + b"data: [DONE]\n\n")
BODY = json.dumps({"id": "chatcmpl-up", "object": "chat.completion", "created": 0,
                   "model": "gpt-4o-mini", "usage": USAGE,
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant",
                                            "content": "".join(WORDS)}}]}).encode()
MODELS = json.dumps({"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "bench"}]}).encode()


def make_app(latency: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].endswith("/models"):
            await _send(send, MODELS, b"application/json")
            return
        stream = b'"stream":true' in body.replace(b" ", b"")
        await asyncio.sleep(latency)
        await _send(send, STREAM if stream else BODY,
                    b"text/event-stream" if stream else b"application/json")

    return app


async def _send(send: Any, data: bytes, mime: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", mime), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def main() -> None:
    import uvicorn

    port, latency = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(make_app(latency), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, backlog=4096)


if __name__ == "__main__":
    main()

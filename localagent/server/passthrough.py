"""The streaming fast path: when the provider the chain would call first speaks OpenAI's
wire protocol (``openai``, ``openai-compatible``), a plain streamed completion is forwarded to
it as bytes, under that provider's circuit breaker, instead of being parsed into LangChain
chunks and written out again (which costs milliseconds of CPU per request).

Anything the fast path cannot do the same way goes the general way: a response format, a
response cache, a client-side rate limit, an open breaker, or a first provider that fails
before its first byte (the general path then runs the whole failover chain). A call the
response cache would keep (temperature 0 by default) goes the general way too. Once bytes have
been sent, a failure ends the stream with an error event, as on the general path.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from localagent.server import wire

if TYPE_CHECKING:
    from providers.engine import Candidate
    from providers.resilient import ResilientChatModel

_OPENAI_CLASSES = {"ChatOpenAI", "BaseChatOpenAI"}


def candidate(model: ResilientChatModel) -> Candidate | None:
    """The chain's first provider if a request may go to it byte for byte, else None."""
    cand = model.base_candidates()[0]
    cache = model.call_cache
    if cache.store is not None and cache.cacheable(cand, {}, None):  # it would answer or keep it
        return None
    client = cand.runnable
    if type(client).__name__ not in _OPENAI_CLASSES or cand.limiter is not None:
        return None
    return cand


def _payload(body: dict[str, Any], client: Any) -> dict[str, Any]:
    """The caller's request for the upstream: its model name, and the client's configured
    sampling where the caller set none."""
    payload = {**body, "model": client.model_name}
    for name in ("temperature", "max_tokens", "seed", "top_p"):
        value = getattr(client, name, None)
        if value is not None and payload.get(name) is None:
            payload[name] = value
    return payload


class Forwarded:
    """An open upstream stream: the headers are known, the body is still to come."""

    def __init__(self, response: Any, cand: Candidate, model: ResilientChatModel,
                 started: float) -> None:
        self.response = response
        self.cand = cand
        self.model = model
        self.started = started

    async def body(self) -> AsyncIterator[bytes]:
        ok = False
        try:
            async for data in self.response.aiter_bytes():
                yield data
            ok = True
        except Exception as exc:  # after bytes went out: an error event, never silence
            from providers.errors import classify

            err = classify(exc, provider=self.cand.name)
            self.cand.breaker.record_failure(err.kind, err.retry_after)
            message = f"stream failed after output was sent ({err.kind.value}): {err.message}"
            yield wire.sse_error({"message": message, "type": "server_error", "param": None,
                                  "code": "stream_interrupted"})
        except BaseException:
            self.cand.breaker.release()
            raise
        finally:
            await self.response.aclose()
            if ok:
                self.cand.breaker.record_success()
            self.model.usage_ledger.record(self.cand.name, ok=ok,
                                           latency=time.monotonic() - self.started)

    def headers(self) -> dict[str, str]:
        return {"x-localagent-provider": self.cand.name, "x-localagent-attempts": "1",
                "x-localagent-cached": "false"}


async def open_stream(model: ResilientChatModel, body: dict[str, Any]) -> Forwarded | None:
    """The upstream's stream, open and answering 200; None to take the general path (the
    provider failed first, which its breaker is told, or cannot be tried now)."""
    cand = candidate(model)
    if cand is None or not cand.breaker.allow():
        return None
    client = cand.runnable
    http = client.root_async_client._client  # the provider's pooled httpx client
    base = str(client.openai_api_base or "https://api.openai.com/v1").rstrip("/")
    key = client.openai_api_key.get_secret_value() if client.openai_api_key else ""
    timeout = min(cand.policy.timeout, model.deadline)
    started = time.monotonic()
    try:
        request = http.build_request(
            "POST", f"{base}/chat/completions", content=json.dumps(_payload(body, client)),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                     "Accept": "text/event-stream"}, timeout=timeout)
        response = await http.send(request, stream=True)
    except Exception as exc:
        from providers.errors import classify

        err = classify(exc, provider=cand.name)
        cand.breaker.record_failure(err.kind, err.retry_after)
        return None
    except BaseException:
        cand.breaker.release()
        raise
    if response.status_code != 200:
        await response.aread()
        await response.aclose()
        # the general path tries again, classifies the error and falls over
        cand.breaker.release(provider_answered=True)
        return None
    return Forwarded(response, cand, model, started)

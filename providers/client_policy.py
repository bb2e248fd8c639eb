"""The wrapper owns retries and timeouts: each model it is given is called through a copy
whose own client does not retry and gives up within the attempt timeout.

A default ``ChatOpenAI`` retries twice with backoff inside one call (~1.3 s on a refused
connection) and waits up to 10 minutes for an answer; left alone, that hides under the
wrapper's own retries, breaker and timeout. The caller's object is never changed: copies
share its connection pool where the SDK allows (``with_options``).

Known clients are listed by ``_llm_type``; ``register`` adds one. A model that is not known
keeps its own settings, and a sync attempt at it is waited for in a worker thread so the
attempt timeout still holds (``engine.drive_sync``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

# (model, attempt timeout) -> (the copy to call, seconds its client waits at most)
Limiter = Callable[[Any, float], tuple[BaseChatModel, float]]

_limiters: dict[str, Limiter] = {}
_lock = threading.Lock()


def register(llm_type: str, limiter: Limiter) -> None:
    """Teach the wrapper how to give models of one ``_llm_type`` its attempt policy."""
    with _lock:
        _limiters[llm_type] = limiter


def answers_in_process(model: Any, timeout: float) -> tuple[BaseChatModel, float]:
    """For models that answer without I/O or waiting: nothing to bound, call them inline."""
    return model, 0.0


def apply(model: BaseChatModel, timeout: float) -> tuple[BaseChatModel, float | None]:
    """The model to call for attempts of ``timeout`` seconds, and how long its own client
    waits at most (None when the wrapper cannot tell it)."""
    llm_type = str(getattr(model, "_llm_type", ""))
    with _lock:
        limiter = _limiters.get(llm_type)
    if limiter is None and _openai_like(model):
        limiter = _openai  # ChatOpenAI's relatives (DeepSeek, xAI, ...) share its clients
    if limiter is None:
        return model, None
    return limiter(model, timeout)


def _seconds(value: Any) -> float:
    """A client's timeout as seconds, inf when unset or not a plain number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return math.inf


def _tighter(own: Any, timeout: float) -> float:
    """The attempt timeout, or the client's own when the user set a shorter one."""
    return min(_seconds(own), timeout)


def _openai_like(model: Any) -> bool:
    return hasattr(model, "root_client") and hasattr(model, "root_async_client")


def _openai(model: Any, timeout: float) -> tuple[BaseChatModel, float]:
    seconds = _tighter(model.request_timeout, timeout)
    if model.max_retries == 0 and _seconds(model.request_timeout) == seconds:
        return model, seconds  # built that way already (the provider factory does)
    update: dict[str, Any] = {"max_retries": 0, "request_timeout": seconds}
    if model.root_client is not None:
        root = model.root_client.with_options(timeout=seconds, max_retries=0)
        update.update(root_client=root, client=root.chat.completions)
    if model.root_async_client is not None:
        aroot = model.root_async_client.with_options(timeout=seconds, max_retries=0)
        update.update(root_async_client=aroot, async_client=aroot.chat.completions)
    return model.model_copy(update=update), seconds


def _ollama(model: Any, timeout: float) -> tuple[BaseChatModel, float]:
    """Ollama's client never retries; its httpx timeout is fixed when the client is built,
    so the copy is built anew (a new connection pool) unless the timeout fits already."""
    shared = dict(model.client_kwargs or {})
    per_client = [dict(model.sync_client_kwargs or {}), dict(model.async_client_kwargs or {})]
    owns = [kwargs.get("timeout", shared.get("timeout")) for kwargs in per_client]
    seconds = min(_tighter(own, timeout) for own in owns)
    if all(_seconds(own) <= timeout for own in owns):
        return model, max(_seconds(own) for own in owns)
    fields = {name: getattr(model, name) for name in model.model_fields_set}
    fields.update(client_kwargs={**shared, "timeout": seconds},
                  sync_client_kwargs={**per_client[0], "timeout": seconds},
                  async_client_kwargs={**per_client[1], "timeout": seconds},
                  validate_model_on_init=False)
    return type(model)(**fields), seconds


def _gemini(model: Any, timeout: float) -> tuple[BaseChatModel, float]:
    """ChatGoogleGenerativeAI sends its timeout and retry count with every request;
    ``max_retries=1`` is one attempt (the SDK reads 0 as "its default" in some releases)."""
    seconds = _tighter(model.timeout, timeout)
    return model.model_copy(update={"timeout": seconds, "max_retries": 1}), seconds


def _perplexity(model: Any, timeout: float) -> tuple[BaseChatModel, float]:
    seconds = _tighter(model.request_timeout, timeout)
    update: dict[str, Any] = {"max_retries": 0, "request_timeout": seconds}
    for attr in ("client", "async_client"):
        client = getattr(model, attr, None)
        if client is not None and hasattr(client, "with_options"):
            update[attr] = client.with_options(timeout=seconds, max_retries=0)
    return model.model_copy(update=update), seconds


for _name, _limiter in (("openai-chat", _openai), ("azure-openai-chat", _openai),
                        ("chat-ollama", _ollama), ("chat-google-generative-ai", _gemini),
                        ("perplexitychat", _perplexity)):
    register(_name, _limiter)

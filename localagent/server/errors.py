"""Errors in OpenAI's shape (``{"error": {message, type, param, code}}``) and the mapping
from the provider layer's errors onto status codes."""

from __future__ import annotations

import math
from typing import Any

from localagent.redact import scrub

RATE_LIMIT_OUTCOMES = {"rate_limited", "rate_limit_wait"}
# outcomes that say nothing against the rate-limit verdict
NEUTRAL_OUTCOMES = {"breaker_open", "skipped"}


class ApiError(Exception):
    """An error response: status, OpenAI error body, extra headers."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None, *,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = scrub(message)
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.type, "param": self.param,
                 "code": self.code, **self.extra}
        return {"error": error}


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", "invalid_request", param=param)


def too_large(message: str) -> ApiError:
    return ApiError(413, message, "invalid_request_error", "request_too_large")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "authentication_error", "invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, "permission_error", "insufficient_scope")


def rate_limited(message: str, retry_after: float) -> ApiError:
    seconds = str(max(1, math.ceil(retry_after)))
    return ApiError(429, message, "rate_limit_error", "rate_limit_exceeded",
                    headers={"Retry-After": seconds})


def _attempts(exc: Any) -> list[dict[str, str]]:
    """Provider and outcome of each attempt: what callers need, no upstream text (which can
    echo a request header)."""
    return [{"provider": a.provider, "outcome": a.outcome} for a in exc.attempts]


def from_provider(exc: BaseException, retry_after: float | None = None) -> ApiError:
    """The response for a provider-layer failure. ``retry_after``: when the chain's
    earliest provider can be tried again (for 429)."""
    from providers.errors import (
        AllProvidersFailed,
        BadRequest,
        ContentPolicy,
        ContextOverflow,
        DeadlineExceeded,
        ProviderError,
        ProviderUnavailable,
        StreamInterrupted,
    )

    if isinstance(exc, DeadlineExceeded):
        return ApiError(504, f"deadline exceeded before any provider answered "
                        f"({_summary(exc)})", "timeout_error", "deadline_exceeded",
                        extra={"attempts": _attempts(exc)})
    if isinstance(exc, AllProvidersFailed):
        outcomes = {a.outcome for a in exc.attempts}
        if outcomes & RATE_LIMIT_OUTCOMES and outcomes <= RATE_LIMIT_OUTCOMES | NEUTRAL_OUTCOMES:
            return rate_limited(f"every provider is rate limited ({_summary(exc)})",
                                retry_after or 1.0)
        if outcomes <= {"bad_request", "context_overflow", "content_policy"} and outcomes:
            return bad_request(f"every provider refused the request ({_summary(exc)})")
        return ApiError(503, f"every provider failed ({_summary(exc)})", "server_error",
                        "providers_unavailable", extra={"attempts": _attempts(exc)})
    if isinstance(exc, StreamInterrupted):
        return ApiError(502, exc.message, "server_error", "stream_interrupted")
    if isinstance(exc, ProviderUnavailable):
        return ApiError(404, exc.message, "invalid_request_error", "model_not_found",
                        param="model")
    if isinstance(exc, BadRequest | ContextOverflow | ContentPolicy):
        return bad_request(exc.message)
    if isinstance(exc, ProviderError):
        return ApiError(502, exc.message, "server_error", exc.kind.value)
    return ApiError(500, f"internal error ({type(exc).__name__})", "server_error",
                    "internal_error")


def _summary(exc: Any) -> str:
    return "; ".join(f"{a.provider}: {a.outcome}" for a in exc.attempts) or "no provider"

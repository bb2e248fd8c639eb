"""Error classes for provider calls and the classifier that maps SDK exceptions onto them.

Every failure a provider SDK can raise is mapped to one :class:`ErrorKind`. The kind decides
what the resilient wrapper does next; the table lives in :data:`ERROR_TABLE` (and README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """What went wrong with one provider attempt."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    BAD_RESPONSE = "bad_response"
    CONTEXT_OVERFLOW = "context_overflow"
    CONTENT_POLICY = "content_policy"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KindPolicy:
    """How the wrapper treats one error kind."""

    retry: bool
    counts_against_breaker: bool
    falls_over: bool
    retry_only_when_last: bool = False


# retry: try the same provider again (backoff, Retry-After honoured).
# retry_only_when_last: only when no other provider is left to fall over to — a dead or hung
#   endpoint rarely recovers within a backoff, so the next provider is the faster answer.
ERROR_TABLE: dict[ErrorKind, KindPolicy] = {
    ErrorKind.RATE_LIMITED: KindPolicy(True, True, True, retry_only_when_last=True),
    ErrorKind.SERVER_ERROR: KindPolicy(retry=True, counts_against_breaker=True, falls_over=True),
    ErrorKind.TIMEOUT: KindPolicy(True, True, True, retry_only_when_last=True),
    ErrorKind.UNREACHABLE: KindPolicy(True, True, True, retry_only_when_last=True),
    ErrorKind.BAD_RESPONSE: KindPolicy(retry=True, counts_against_breaker=True, falls_over=True),
    ErrorKind.CONTEXT_OVERFLOW: KindPolicy(False, counts_against_breaker=False, falls_over=True),
    ErrorKind.CONTENT_POLICY: KindPolicy(False, counts_against_breaker=False, falls_over=True),
    ErrorKind.AUTH: KindPolicy(retry=False, counts_against_breaker=True, falls_over=True),
    ErrorKind.BAD_REQUEST: KindPolicy(False, counts_against_breaker=False, falls_over=True),
    ErrorKind.UNKNOWN: KindPolicy(retry=False, counts_against_breaker=True, falls_over=True),
}


class ProviderError(Exception):
    """Base of every error raised by the provider layer."""

    kind: ErrorKind = ErrorKind.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.retry_after = retry_after
        self.status = status

    def __str__(self) -> str:
        where = f"[{self.provider}] " if self.provider else ""
        return f"{where}{self.message}"


class RateLimited(ProviderError):
    kind = ErrorKind.RATE_LIMITED


class Transient(ProviderError):
    """Server error, timeout, unreachable endpoint or malformed response."""

    kind = ErrorKind.SERVER_ERROR


class ContextOverflow(ProviderError):
    kind = ErrorKind.CONTEXT_OVERFLOW


class ContentPolicy(ProviderError):
    kind = ErrorKind.CONTENT_POLICY


class AuthError(ProviderError):
    kind = ErrorKind.AUTH


class BadRequest(ProviderError):
    kind = ErrorKind.BAD_REQUEST


class ProviderUnavailable(ProviderError):
    """A provider cannot be built: unknown name, missing SDK, missing key, bad spec."""

    kind = ErrorKind.BAD_REQUEST


class StreamInterrupted(Transient):
    """A stream failed after content had already been sent to the caller."""


@dataclass(slots=True)
class Attempt:
    """One try at one provider, as recorded in accounting and in AllProvidersFailed."""

    provider: str
    outcome: str  # "ok", "cached", an ErrorKind value, "breaker_open", "rate_limit_wait", ...
    latency: float = 0.0
    wait: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "outcome": self.outcome,
            "latency": round(self.latency, 6),
            "wait": round(self.wait, 6),
            "message": self.message,
        }


class AllProvidersFailed(ProviderError):
    """Every candidate failed or was skipped; ``attempts`` says what happened to each."""

    def __init__(self, attempts: list[Attempt], reason: str = "every provider failed") -> None:
        self.attempts = list(attempts)
        self.reason = reason
        lines = "; ".join(
            f"{a.provider}: {a.outcome}" + (f" ({a.message})" if a.message else "")
            for a in self.attempts
        )
        super().__init__(f"{reason}: {lines or 'no provider was configured'}")


class DeadlineExceeded(AllProvidersFailed):
    """The request's overall deadline ran out before any provider answered."""


_CAUSE_LIMIT = 8
_OVERFLOW_RE = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context length|context window|too many tokens"
    r"|prompt is too long|exceeds the maximum number of tokens|input tokens exceed|token limit",
    re.IGNORECASE,
)
_POLICY_RE = re.compile(r"content[_ ](policy|filter|management)|safety|blocked", re.IGNORECASE)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < _CAUSE_LIMIT:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds, an HTTP date, or Google's ``"7s"``."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text.rstrip("s")))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_of(exc: BaseException) -> float | None:
    """Retry-After carried by an exception (headers, or a Google RetryInfo in the body)."""
    for item in _chain(exc):
        explicit = getattr(item, "retry_after", None)
        if isinstance(explicit, int | float):
            return float(explicit)
        headers = getattr(getattr(item, "response", None), "headers", None)
        if headers is not None:
            try:
                ms = headers.get("retry-after-ms")
                if ms is not None:
                    return max(0.0, float(ms) / 1000.0)
                seconds = parse_retry_after(headers.get("retry-after"))
                if seconds is not None:
                    return seconds
            except (AttributeError, ValueError):
                pass
        match = re.search(r"retryDelay['\"]?\s*[:=]\s*['\"](\d+(?:\.\d+)?)s", str(item))
        if match:
            return float(match.group(1))
    return None


def _kind_from_status(status: int, text: str) -> ErrorKind:
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 413 or _OVERFLOW_RE.search(text):
        return ErrorKind.CONTEXT_OVERFLOW
    if status >= 500:
        return ErrorKind.SERVER_ERROR
    if _POLICY_RE.search(text):
        return ErrorKind.CONTENT_POLICY
    return ErrorKind.BAD_REQUEST


def _kind_from_type(item: BaseException) -> ErrorKind | None:
    names = {cls.__name__ for cls in type(item).__mro__}
    if names & {"ContextOverflowError"}:
        return ErrorKind.CONTEXT_OVERFLOW
    if names & {"ModelRateLimitError", "RateLimitError"}:
        return ErrorKind.RATE_LIMITED
    if names & {"ModelAuthenticationError", "ModelPermissionDeniedError", "AuthenticationError",
                "PermissionDeniedError"}:
        return ErrorKind.AUTH
    if names & {"ModelTimeoutError", "APITimeoutError", "TimeoutException", "TimeoutError",
                "ReadTimeout", "ConnectTimeout"}:
        return ErrorKind.TIMEOUT
    if names & {"ModelConnectionError", "APIConnectionError", "ConnectError", "ConnectionError",
                "RemoteProtocolError", "NetworkError"}:
        return ErrorKind.UNREACHABLE
    if names & {"JSONDecodeError", "APIResponseValidationError", "OutputParserException",
                "ValidationError", "DecodingError"}:
        return ErrorKind.BAD_RESPONSE
    return None


def classify(exc: BaseException, *, provider: str | None = None) -> ProviderError:
    """Map any exception raised by a provider call to a typed :class:`ProviderError`."""
    if isinstance(exc, ProviderError):
        if provider and not exc.provider:
            exc.provider = provider
        return exc
    chain = _chain(exc)
    text = " ".join(str(item) for item in chain)[:2000]
    kind: ErrorKind | None = None
    status: int | None = None
    for item in chain:
        kind = _kind_from_type(item)
        if kind is ErrorKind.UNREACHABLE and isinstance(item, asyncio.TimeoutError):
            kind = ErrorKind.TIMEOUT
        if kind is not None:
            status = _status(item)
            break
        status = _status(item)
        if status is not None:
            kind = _kind_from_status(status, text)
            break
    if kind is None:
        kind = ErrorKind.UNKNOWN
    if kind in (ErrorKind.BAD_REQUEST, ErrorKind.UNKNOWN, ErrorKind.SERVER_ERROR):
        if _OVERFLOW_RE.search(text):
            kind = ErrorKind.CONTEXT_OVERFLOW
        elif kind is not ErrorKind.SERVER_ERROR and _POLICY_RE.search(text):
            kind = ErrorKind.CONTENT_POLICY
    cls = _KIND_CLASS[kind]
    message = f"{type(exc).__name__}: {_short(exc)}"
    err = cls(message, provider=provider, retry_after=retry_after_of(exc), status=status)
    err.kind = kind
    err.__cause__ = exc
    return err


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc) or repr(exc)
    with contextlib.suppress(TypeError, ValueError):
        text = json.dumps(text)[1:-1] if "\n" in text else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


_KIND_CLASS: dict[ErrorKind, type[ProviderError]] = {
    ErrorKind.RATE_LIMITED: RateLimited,
    ErrorKind.SERVER_ERROR: Transient,
    ErrorKind.TIMEOUT: Transient,
    ErrorKind.UNREACHABLE: Transient,
    ErrorKind.BAD_RESPONSE: Transient,
    ErrorKind.CONTEXT_OVERFLOW: ContextOverflow,
    ErrorKind.CONTENT_POLICY: ContentPolicy,
    ErrorKind.AUTH: AuthError,
    ErrorKind.BAD_REQUEST: BadRequest,
    ErrorKind.UNKNOWN: ProviderError,
}

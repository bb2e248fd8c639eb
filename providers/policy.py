"""Resilience policy: every default of the provider layer lives here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from providers.errors import ErrorKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakerPolicy(_Strict):
    """Circuit breaker: closed → open after failures → half-open trial → closed."""

    failure_threshold: int = Field(5, ge=1, description="failures in the window that open it")
    minimum_requests: int = Field(5, ge=1, description="requests in the window before it may open")
    window_seconds: float = Field(60.0, gt=0)
    open_seconds: float = Field(5.0, gt=0, description="first open period")
    max_open_seconds: float = Field(300.0, gt=0, description="cap for the growing open period")
    growth: float = Field(2.0, ge=1.0, description="open period multiplier per re-open")
    trial_lease_seconds: float = Field(
        120.0, gt=0, description="shared breaker: a half-open trial not settled within this "
        "(its process died) is given to another caller")
    trip_on: frozenset[ErrorKind] = Field(
        frozenset({ErrorKind.TIMEOUT, ErrorKind.UNREACHABLE, ErrorKind.AUTH}),
        description="kinds that open the breaker at once: a dead, hung or unauthorised endpoint",
    )


class LimitPolicy(_Strict):
    """Client-side rate limits (token buckets)."""

    rpm: float | None = Field(None, gt=0, description="requests per minute")
    tpm: float | None = Field(None, gt=0, description="tokens per minute")
    request_burst: float | None = Field(
        None, gt=0, description="bucket size in requests; default one second's worth (>= 1)"
    )
    max_wait_seconds: float = Field(
        10.0, ge=0, description="fall over instead of waiting longer than this for a slot"
    )


class RetryPolicy(_Strict):
    """Retries on the same provider, with exponential backoff and equal jitter
    (half the delay fixed, half random; ``jitter=False`` makes it all fixed)."""

    max_retries: int = Field(2, ge=0)
    base_delay: float = Field(0.5, ge=0)
    max_delay: float = Field(20.0, ge=0)
    jitter: bool = True
    max_retry_after: float = Field(
        30.0, ge=0, description="a longer Retry-After falls over instead of waiting"
    )


class ProviderPolicy(_Strict):
    """All resilience settings for one provider (or the default for every provider)."""

    breaker: BreakerPolicy = BreakerPolicy()
    limits: LimitPolicy = LimitPolicy()
    retry: RetryPolicy = RetryPolicy()
    timeout: float = Field(
        60.0, gt=0, description="seconds for one attempt (for a stream: to its first content)"
    )
    context_window: int | None = Field(None, gt=0, description="override the model's window")
    output_reserve: int = Field(1024, ge=0, description="tokens kept free for the answer")


class Price(_Strict):
    """USD per million tokens."""

    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)


# Public list prices (USD / 1M tokens) for common models; override or extend in config.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gemini-2.0-flash": Price(input=0.10, output=0.40),
    "gemini-2.5-flash": Price(input=0.30, output=2.50),
    "gemini-2.5-pro": Price(input=1.25, output=10.00),
    "sonar": Price(input=1.00, output=1.00),
    "sonar-pro": Price(input=3.00, output=15.00),
}


class CachePolicy(_Strict):
    """Response cache (diskcache)."""

    enabled: bool = True
    only_deterministic: bool = Field(True, description="cache only temperature-0 calls by default")
    ttl_seconds: float | None = Field(7 * 24 * 3600.0, gt=0)
    directory: str | None = Field(None, description="default: user cache dir / responses")
    size_limit_bytes: int = Field(512 * 1024 * 1024, gt=0)


DEFAULT_DEADLINE_SECONDS = 300.0
CACHE_VERSION = 1

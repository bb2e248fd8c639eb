"""After the failover loop: accounting, response metadata, breaker and limiter bookkeeping."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from providers.accounting import UsageLedger, usage_tokens
from providers.engine import Candidate, Outcome
from providers.errors import ERROR_TABLE, Attempt, ErrorKind, StreamInterrupted, classify

_FAILURE_OUTCOMES = {kind.value for kind in ErrorKind}
# Provider extras worth keeping where callers look for metadata (Perplexity's sources).
_PROMOTED = ("citations", "search_results", "images", "related_questions")


def metadata(cand: Candidate, attempts: list[Attempt], *, cost: float, cached: bool
             ) -> dict[str, Any]:
    return {
        "provider": cand.name,
        "model": cand.model_id,
        "cached": cached,
        "cost": cost,
        "attempts": [a.as_dict() for a in attempts],
    }


def record_failures(ledger: UsageLedger, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        if attempt.outcome in _FAILURE_OUTCOMES and attempt.latency > 0:
            ledger.record(attempt.provider, ok=False, latency=attempt.latency)


def settle_success(ledger: UsageLedger, outcome: Outcome, message: BaseMessage) -> BaseMessage:
    """Close the breaker's books, correct the token reservation, account, annotate."""
    cand = outcome.candidate
    cand.breaker.record_success()
    tokens_in, tokens_out = usage_tokens(message)
    if outcome.reservation is not None and cand.limiter is not None and (tokens_in or tokens_out):
        cand.limiter.correct(outcome.reservation, tokens_in + tokens_out)
    cost = ledger.cost(cand.name, cand.model_id, tokens_in, tokens_out)
    ledger.record(cand.name, ok=True, tokens_in=tokens_in, tokens_out=tokens_out, cost=cost,
                  latency=outcome.latency)
    if len(outcome.attempts) > 1:
        record_failures(ledger, outcome.attempts[:-1])
    annotate(message, metadata(cand, outcome.attempts, cost=cost, cached=False))
    return message


def annotate(message: BaseMessage, meta: dict[str, Any]) -> None:
    found = message.additional_kwargs
    extra = {key: found[key] for key in _PROMOTED if key in found} if found else {}
    message.response_metadata = {**message.response_metadata, **extra, "localagent": meta}


def stream_failed(ledger: UsageLedger, outcome: Outcome, exc: BaseException
                  ) -> StreamInterrupted:
    """A stream broke after content reached the caller: no failover, a typed error."""
    cand = outcome.candidate
    err = classify(exc, provider=cand.name)
    if ERROR_TABLE[err.kind].counts_against_breaker:
        cand.breaker.record_failure(err.kind, err.retry_after)
    else:
        cand.breaker.release(provider_answered=True)
    ledger.record(cand.name, ok=False, latency=outcome.latency)
    interrupted = StreamInterrupted(
        f"stream failed after output was sent ({err.kind.value}): {err.message}",
        provider=cand.name, status=err.status)
    interrupted.cause_kind = err.kind  # type: ignore[attr-defined]
    return interrupted


def strip_metadata(message: BaseMessage) -> BaseMessage:
    """A copy without our per-call annotations, for the cache."""
    meta = {k: v for k, v in message.response_metadata.items() if k != "localagent"}
    return message.model_copy(update={"response_metadata": meta})

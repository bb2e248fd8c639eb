"""The failover loop, written once as a generator and driven either synchronously or on an
event loop. The generator decides (which provider, whether to wait, retry or fall over); the
driver only sleeps and calls, so the sync and async paths cannot drift apart."""

from __future__ import annotations

import asyncio
import contextvars
import random
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableBinding

from providers.breaker import CircuitBreaker
from providers.errors import (
    ERROR_TABLE,
    AllProvidersFailed,
    Attempt,
    DeadlineExceeded,
    ErrorKind,
    ProviderError,
    classify,
)
from providers.policy import ProviderPolicy, RetryPolicy
from providers.ratelimit import RateLimiter, Reservation
from providers.tokens import estimate_tokens, fit_messages


def call_target(runnable: Any) -> tuple[BaseChatModel | None, dict[str, Any]]:
    """The chat model behind a runnable and the kwargs bound to it (tools, ...)."""
    if isinstance(runnable, BaseChatModel):
        return runnable, {}
    if isinstance(runnable, RunnableBinding) and isinstance(runnable.bound, BaseChatModel):
        return runnable.bound, dict(runnable.kwargs)
    return None, {}


@dataclass
class Candidate:
    """One provider in the chain, with the runnable to call for this request.

    ``model`` is the chat model behind ``runnable`` even when that is a structured-output
    pipeline: its sampling parameters key the cache. ``client_timeout`` is how long the
    model's own client waits before it gives up: 0 for a model that answers in process
    without waiting, None when unknown (a sync attempt is then waited for in a worker
    thread)."""

    name: str
    model_id: str
    runnable: Any
    policy: ProviderPolicy
    breaker: CircuitBreaker
    limiter: RateLimiter | None = None
    window: int | None = None
    skip_reason: str | None = None
    model: Any = None
    client_timeout: float | None = None
    # Worked out once here, not on every call: the per-call path reads them.
    direct: BaseChatModel | None = field(init=False, repr=False)
    bound: dict[str, Any] = field(init=False, repr=False)
    temperature: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.direct, self.bound = call_target(self.runnable)
        if self.model is None:
            self.model = self.direct
        self.temperature = self.bound.get("temperature",
                                          getattr(self.model, "temperature", None))


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Call:
    candidate: Candidate
    messages: list[BaseMessage]
    timeout: float


@dataclass(slots=True)
class Outcome:
    """The winning attempt: what it returned, and what the caller must settle afterwards."""

    candidate: Candidate
    value: Any
    messages: list[BaseMessage]
    attempts: list[Attempt]
    reservation: Reservation | None
    latency: float
    wait: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


Action = Sleep | Call
Plan = Generator[Action, Any, Outcome]


def backoff(retry: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Exponential backoff with equal jitter: half fixed, half random."""
    delay = min(policy.max_delay, policy.base_delay * (2**retry))
    if not policy.jitter:
        return delay
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def failover(candidates: list[Candidate], messages: list[BaseMessage], *, deadline: float,
             extra_tokens: int = 0, clock: Callable[[], float] = time.monotonic) -> Plan:
    """Try candidates in order; yields Sleep/Call actions and returns the first success."""
    attempts: list[Attempt] = []
    for index, cand in enumerate(candidates):
        last = index == len(candidates) - 1
        if cand.skip_reason:
            attempts.append(Attempt(cand.name, "skipped", message=cand.skip_reason))
            continue
        msgs: list[BaseMessage] | None = messages
        if cand.window:
            budget = cand.window - cand.policy.output_reserve - extra_tokens
            msgs = fit_messages(messages, budget)
            if msgs is None:
                attempts.append(Attempt(cand.name, ErrorKind.CONTEXT_OVERFLOW.value, message=(
                    f"prompt of ~{estimate_tokens(messages) + extra_tokens} tokens does not fit "
                    f"a {cand.window}-token window")))
                continue
        trimmed = msgs is not messages
        retries = 0
        while True:
            assert msgs is not None
            if clock() >= deadline:
                raise DeadlineExceeded(attempts, reason="deadline exceeded")
            # The last provider keeps retrying through a breaker its own failure opened.
            if (retries == 0 or not last) and not cand.breaker.allow():
                attempts.append(Attempt(cand.name, "breaker_open",
                                        message=f"retry in {cand.breaker.retry_in():.1f}s"))
                break
            reservation: Reservation | None = None
            waited = 0.0
            if cand.limiter is not None:
                bound = min(cand.limiter.policy.max_wait_seconds, deadline - clock())
                reservation = cand.limiter.reserve(estimate_tokens(msgs) + extra_tokens, bound)
                if reservation is None:
                    cand.breaker.release()
                    attempts.append(Attempt(cand.name, "rate_limit_wait", message=(
                        f"next slot in {cand.limiter.expected_wait():.1f}s, over the "
                        f"{bound:.1f}s bound")))
                    break
                if reservation.wait > 0:
                    try:
                        yield Sleep(reservation.wait)
                    except BaseException:
                        cand.limiter.refund(reservation)
                        cand.breaker.release()
                        raise
                    waited = reservation.wait
            started = clock()
            remaining = deadline - started
            try:
                value = yield Call(cand, msgs, min(cand.policy.timeout, max(remaining, 0.001)))
            except Exception as exc:
                latency = clock() - started
                if clock() >= deadline and remaining < cand.policy.timeout:
                    cand.breaker.release()
                    attempts.append(Attempt(cand.name, "deadline", latency, waited))
                    raise DeadlineExceeded(attempts, reason="deadline exceeded") from exc
                err = classify(exc, provider=cand.name)
                attempts.append(Attempt(cand.name, err.kind.value, latency, waited, err.message))
                rule = ERROR_TABLE[err.kind]
                if rule.counts_against_breaker:
                    cand.breaker.record_failure(err.kind, err.retry_after)
                else:
                    cand.breaker.release(provider_answered=True)
                if err.kind is ErrorKind.CONTEXT_OVERFLOW and not trimmed:
                    trimmed = True
                    smaller = fit_messages(msgs, int(estimate_tokens(msgs) * 0.75))
                    if smaller is not None and len(smaller) < len(msgs):
                        msgs = smaller
                        continue
                    break
                delay = _retry_delay(err, rule.retry and (last or not rule.retry_only_when_last),
                                     retries, cand, deadline - clock())
                if delay is None:
                    if not rule.falls_over:
                        raise err from exc
                    break
                retries += 1
                yield Sleep(delay)
                continue
            except BaseException:
                # Cancelled by the caller: not the provider's fault, give everything back.
                if reservation is not None and cand.limiter is not None:
                    cand.limiter.refund(reservation)
                cand.breaker.release()
                raise
            latency = clock() - started
            attempts.append(Attempt(cand.name, "ok", latency, waited))
            return Outcome(cand, value, msgs, attempts, reservation, latency, waited)
    raise AllProvidersFailed(attempts)


def _retry_delay(err: ProviderError, retryable: bool, retries: int, cand: Candidate,
                 remaining: float) -> float | None:
    """Seconds to wait before retrying the same provider, or None to move on."""
    policy = cand.policy.retry
    if not retryable or retries >= policy.max_retries:
        return None
    delay = backoff(retries, policy)
    if err.retry_after is not None:
        if err.retry_after > policy.max_retry_after:
            return None
        delay = max(delay, err.retry_after)
    if delay >= remaining:
        return None
    return delay


def _advance(plan: Plan, result: Any = None, error: BaseException | None = None
             ) -> tuple[bool, Any]:
    """Feed a call's result (or error) to the plan: (done, final outcome or next action)."""
    try:
        return False, (plan.throw(error) if error is not None else plan.send(result))
    except StopIteration as stop:
        return True, stop.value


def bounded_call(call: Callable[[Call], Any], action: Call) -> Any:
    """``call(action)`` in a worker thread, given up after ``action.timeout`` seconds: the
    sync path's bound for a model whose own client cannot be told when to give up. The
    abandoned call finishes in the background and its result is dropped; the thread is a
    daemon, so it never holds up the process's exit."""
    context = contextvars.copy_context()
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(context.run(call, action))
        except BaseException as exc:  # handed to the caller, whatever it is
            future.set_exception(exc)

    threading.Thread(target=run, name=f"localagent-attempt:{action.candidate.name}",
                     daemon=True).start()
    try:
        return future.result(timeout=action.timeout)
    except FutureTimeout:
        raise TimeoutError(f"{action.candidate.name}: no answer within "
                           f"{action.timeout:.1f}s") from None


def drive_sync(plan: Plan, call: Callable[[Call], Any]) -> Outcome:
    """Run a plan on this thread: ``time.sleep`` for waits, ``call`` for provider calls.

    An attempt runs inline when the model's own client gives up within the attempt's
    timeout (every known provider client, given that timeout by the wrapper); otherwise it
    is waited for in a worker thread, so the timeout holds as it does on the event loop."""
    done, action = False, next(plan)  # action: an Action until done, then the Outcome
    while not done:
        try:
            if isinstance(action, Sleep):
                time.sleep(action.seconds)
                result: Any = None
            else:
                own = action.candidate.client_timeout
                if own is not None and own <= action.timeout:
                    result = call(action)
                else:
                    result = bounded_call(call, action)
        except BaseException as exc:
            done, action = _advance(plan, error=exc)
            continue
        done, action = _advance(plan, result)
    return cast(Outcome, action)


async def drive_async(plan: Plan, call: Callable[[Call], Awaitable[Any]]) -> Outcome:
    """Run a plan on the event loop; every attempt is bounded by its timeout."""
    done, action = False, next(plan)  # action: an Action until done, then the Outcome
    while not done:
        try:
            if isinstance(action, Sleep):
                await asyncio.sleep(action.seconds)
                result: Any = None
            elif action.candidate.client_timeout == 0.0:
                # it answers in process without awaiting anything: no timer could cut it short
                result = await call(action)
            else:
                async with asyncio.timeout(action.timeout):
                    result = await call(action)
        except BaseException as exc:
            done, action = _advance(plan, error=exc)
            continue
        done, action = _advance(plan, result)
    return cast(Outcome, action)

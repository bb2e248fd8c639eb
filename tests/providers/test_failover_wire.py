"""Fault injection on every wire protocol: the real client fails, the wrapper recovers."""

from __future__ import annotations

import pytest

from providers.errors import AllProvidersFailed, StreamInterrupted
from providers.policy import ProviderPolicy, RetryPolicy
from providers.resilient import ResilientChatModel
from tests.wire import (
    PROTOCOLS,
    Protocol,
    cut_stream,
    http_error,
    malformed,
    sequence,
    serve,
    slow,
)

FAST_RETRY = ProviderPolicy(retry=RetryPolicy(base_delay=0.01, max_delay=0.02))
TIMEOUT = 0.5



def url(server) -> str:
    return server.url_for("").rstrip("/")


def pair(protocol: Protocol, primary_url: str, backup_url: str) -> ResilientChatModel:
    return ResilientChatModel(
        models=[protocol.build(primary_url, TIMEOUT), protocol.build(backup_url, TIMEOUT)],
        names=["primary", "backup"], policy=FAST_RETRY, cache_policy={"enabled": False})


def outcomes(message) -> list[str]:
    return [a["outcome"] for a in message.response_metadata["localagent"]["attempts"]]


FAULTS = {
    "500": (lambda p: http_error(500), ["server_error"] * 3),
    "503": (lambda p: http_error(503), ["server_error"] * 3),
    "429": (lambda p: http_error(429, {"Retry-After": "7"}), ["rate_limited"]),
    "slow": (lambda p: slow(p.reply("too late"), TIMEOUT * 3), ["timeout"]),
    "malformed": (lambda p: malformed(), ["bad_response"] * 3),
    "401": (lambda p: http_error(401, message="invalid api key"), ["auth"]),
}


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_falls_over_to_backup(httpserver, backup_server, protocol, fault) -> None:
    make, expected = FAULTS[fault]
    serve(httpserver, protocol, make(protocol))
    serve(backup_server, protocol, protocol.reply("backup answer"))
    model = pair(protocol, url(httpserver), url(backup_server))

    answer = model.invoke("hi")

    assert answer.content == "backup answer"
    assert answer.response_metadata["localagent"]["provider"] == "backup"
    assert outcomes(answer) == [*expected, "ok"]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_connection_refused_falls_over_then_breaker_skips(backup_server, refused_url,
                                                          protocol) -> None:
    serve(backup_server, protocol, protocol.reply("backup answer"))
    model = pair(protocol, refused_url, url(backup_server))

    first = model.invoke("hi")
    second = model.invoke("again")

    assert outcomes(first) == ["unreachable", "ok"]
    assert outcomes(second) == ["breaker_open", "ok"]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_rate_limit_retry_after_opens_breaker(httpserver, backup_server, protocol) -> None:
    serve(httpserver, protocol, http_error(429, {"Retry-After": "30"}))
    serve(backup_server, protocol, protocol.reply("backup answer"))
    model = pair(protocol, url(httpserver), url(backup_server))

    model.invoke("hi")
    second = model.invoke("again")

    assert outcomes(second) == ["breaker_open", "ok"]
    breaker = model.base_candidates()[0].breaker
    assert 25 < breaker.retry_in() <= 30


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_single_provider_retries_transient_error(httpserver, protocol) -> None:
    serve(httpserver, protocol, sequence(http_error(503), protocol.reply("second try")))
    model = ResilientChatModel(models=[protocol.build(url(httpserver), TIMEOUT)],
                               policy=FAST_RETRY, cache_policy={"enabled": False})

    answer = model.invoke("hi")

    assert answer.content == "second try"
    assert outcomes(answer) == ["server_error", "ok"]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_all_failed_lists_every_attempt(httpserver, refused_url, protocol) -> None:
    serve(httpserver, protocol, http_error(401))
    model = ResilientChatModel(
        models=[protocol.build(refused_url, TIMEOUT), protocol.build(url(httpserver), TIMEOUT)],
        names=["down", "unauthorised"], policy=FAST_RETRY, cache_policy={"enabled": False})

    with pytest.raises(AllProvidersFailed) as info:
        model.invoke("hi")

    assert [(a.provider, a.outcome) for a in info.value.attempts] == [
        ("down", "unreachable"), ("unauthorised", "auth")]
    assert "sk-test-key" not in str(info.value)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_stream_cut_before_content_falls_over(httpserver, backup_server, protocol) -> None:
    serve(httpserver, protocol, cut_stream(protocol, "never finished", keep=0))
    serve(backup_server, protocol, protocol.reply("streamed from backup"))
    model = pair(protocol, url(httpserver), url(backup_server))

    chunks = list(model.stream("hi"))

    assert "".join(str(c.content) for c in chunks) == "streamed from backup"


def test_openai_stream_cut_after_role_chunk_still_falls_over(httpserver, backup_server) -> None:
    protocol = PROTOCOLS[0]
    serve(httpserver, protocol, cut_stream(protocol, "never finished", keep=1))
    serve(backup_server, protocol, protocol.reply("streamed from backup"))
    model = pair(protocol, url(httpserver), url(backup_server))

    assert "".join(str(c.content) for c in model.stream("hi")) == "streamed from backup"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_stream_cut_after_content_raises_typed_error(httpserver, backup_server,
                                                     protocol) -> None:
    keep = 3 if protocol.name in ("openai", "perplexity") else 2
    serve(httpserver, protocol, cut_stream(protocol, "one two three four five", keep=keep))
    serve(backup_server, protocol, protocol.reply("must not be used"))
    model = pair(protocol, url(httpserver), url(backup_server))

    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        for chunk in model.stream("hi"):
            received.append(str(chunk.content))

    assert "".join(received).startswith("one two")
    assert info.value.provider == "primary"
    assert backup_server.log == []


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
async def test_async_slow_primary_bounded_by_timeout(httpserver, backup_server,
                                                     protocol) -> None:
    serve(httpserver, protocol, slow(protocol.reply("too late"), TIMEOUT * 4))
    serve(backup_server, protocol, protocol.reply("backup answer"))
    model = pair(protocol, url(httpserver), url(backup_server))

    first = await model.ainvoke("hi")
    second = await model.ainvoke("again")

    assert outcomes(first) == ["timeout", "ok"]
    assert first.response_metadata["localagent"]["attempts"][0]["latency"] < TIMEOUT * 2
    assert outcomes(second) == ["breaker_open", "ok"]

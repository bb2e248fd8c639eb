"""The wrapper owns retries and timeouts: clients built with their SDK's defaults (hidden
retries, minutes-long timeouts) are called through copies that follow the wrapper's policy,
on every wire protocol, and the caller's object is left as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from providers.errors import AllProvidersFailed
from providers.policy import ProviderPolicy, RetryPolicy
from providers.resilient import ResilientChatModel
from tests.fakes import ScriptedChatModel
from tests.wire import GEMINI, OLLAMA, OPENAI, PERPLEXITY, Protocol, http_error, serve, slow

ONE_RETRY = ProviderPolicy(retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02))


def _openai(url: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4o-mini", base_url=f"{url}/v1", api_key="sk-test-key")


def _ollama(url: str) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(model="llama3.2", base_url=url, num_ctx=8192)


def _gemini(url: str) -> BaseChatModel:
    from langchain_google_genai import ChatGoogleGenerativeAI

    return ChatGoogleGenerativeAI(model="gemini-2.0-flash", google_api_key="g-test-key",
                                  base_url=url)


def _perplexity(url: str) -> BaseChatModel:
    from langchain_perplexity import ChatPerplexity

    return ChatPerplexity(model="sonar", api_key="pplx-test-key")  # base URL from the env


# Each provider's client as a user builds it: the SDK's own retries and timeout untouched.
DEFAULTS: dict[str, tuple[Protocol, Callable[[str], BaseChatModel]]] = {
    "openai": (OPENAI, _openai), "ollama": (OLLAMA, _ollama), "gemini": (GEMINI, _gemini),
    "perplexity": (PERPLEXITY, _perplexity)}


@pytest.fixture(params=sorted(DEFAULTS))
def user_client(request, monkeypatch) -> tuple[Protocol, Callable[[str], BaseChatModel]]:
    protocol, build = DEFAULTS[request.param]

    def at(url: str) -> BaseChatModel:
        monkeypatch.setenv("PERPLEXITY_BASE_URL", url)
        return build(url)

    return protocol, at


def url(server) -> str:
    return server.url_for("").rstrip("/")


def posts(server) -> int:
    return sum(1 for request, _ in server.log if request.method == "POST")


def state(model: BaseChatModel) -> dict[str, Any]:
    return {**model.__dict__, **(model.__pydantic_private__ or {})}


def assert_backup_answers_after_a_timeout(model: ResilientChatModel) -> None:
    """A sync call gives the primary up at the 0.5 s attempt timeout (it would answer in
    3 s) and the backup answers."""
    started = time.monotonic()
    answer = model.invoke("hi")

    assert time.monotonic() - started < 1.5
    assert answer.content == "backup answer"
    attempts = answer.response_metadata["localagent"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["timeout", "ok"]


def test_sdk_retries_are_replaced_by_the_wrappers(httpserver, user_client) -> None:
    protocol, build = user_client
    serve(httpserver, protocol, http_error(503))
    client = build(url(httpserver))
    before = state(client)
    model = ResilientChatModel(models=[client], policy=ONE_RETRY, cache_policy={"enabled": False})

    with pytest.raises(AllProvidersFailed) as info:
        model.invoke("hi")

    assert [a.outcome for a in info.value.attempts] == ["server_error", "server_error"]
    assert posts(httpserver) == 2  # one per attempt: the SDK's own retries are off
    assert all(state(client)[key] is value for key, value in before.items())


def test_sync_attempt_gives_up_at_the_wrappers_timeout(httpserver, backup_server,
                                                       user_client) -> None:
    protocol, build = user_client
    serve(httpserver, protocol, slow(protocol.reply("too late"), 3.0))
    serve(backup_server, protocol, protocol.reply("backup answer"))
    model = ResilientChatModel(models=[build(url(httpserver)), build(url(backup_server))],
                               names=["primary", "backup"], timeout=0.5,
                               cache_policy={"enabled": False})

    assert_backup_answers_after_a_timeout(model)


def test_openai_defaults_no_longer_delay_a_refused_first_request(backup_server,
                                                                 refused_url) -> None:
    serve(backup_server, OPENAI, OPENAI.reply("backup answer"))
    primary = _openai(refused_url)  # max_retries=None: the SDK retries twice with backoff
    model = ResilientChatModel(models=[primary, _openai(url(backup_server))],
                               cache_policy={"enabled": False})

    started = time.monotonic()
    answer = model.invoke("hi")

    assert time.monotonic() - started < 0.5  # was ~1.3 s of hidden SDK retries
    assert answer.content == "backup answer"
    assert primary.max_retries is None and primary.root_client.max_retries == 2


def test_a_model_the_wrapper_does_not_know_is_bounded_by_a_wait() -> None:
    hung = ScriptedChatModel(model_name="hung", delay=3.0, script=["too late"])
    backup = ScriptedChatModel(model_name="backup", script=["backup answer"])
    model = ResilientChatModel(models=[hung, backup], timeout=0.5,
                               cache_policy={"enabled": False})

    assert_backup_answers_after_a_timeout(model)


def test_a_shorter_timeout_the_user_set_on_the_client_is_kept(httpserver) -> None:
    from langchain_openai import ChatOpenAI

    serve(httpserver, OPENAI, slow(OPENAI.reply("too late"), 3.0))
    client = ChatOpenAI(model="gpt-4o-mini", base_url=f"{url(httpserver)}/v1",
                        api_key="sk-test-key", timeout=0.3)
    model = ResilientChatModel(models=[client], cache_policy={"enabled": False},
                               policy=ProviderPolicy(retry=RetryPolicy(max_retries=0)))

    started = time.monotonic()
    with pytest.raises(AllProvidersFailed):
        model.invoke("hi")

    assert time.monotonic() - started < 1.0
    assert model.base_candidates()[0].client_timeout == pytest.approx(0.3)

"""Each real LangChain client, through the wrapper, against its protocol's local fake."""

from __future__ import annotations

import pytest

from providers.resilient import ResilientChatModel
from tests.wire import CITATIONS, PERPLEXITY, PROTOCOLS, Protocol, serve


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_invoke_and_stream_through_wrapper(httpserver, protocol: Protocol) -> None:
    serve(httpserver, protocol, protocol.reply("hello from the fake"))
    model = ResilientChatModel(models=[protocol.build(httpserver.url_for("").rstrip("/"), 5.0)],
                               cache_policy={"enabled": False})
    answer = model.invoke("hi")
    assert answer.content == "hello from the fake"
    assert answer.usage_metadata["input_tokens"] == 7
    meta = answer.response_metadata["localagent"]
    assert meta["provider"].startswith(protocol.name)
    assert [a["outcome"] for a in meta["attempts"]] == ["ok"]

    chunks = list(model.stream("hi"))
    text = "".join(str(c.content) for c in chunks)
    assert text == "hello from the fake"
    assert len([c for c in chunks if c.content]) >= 3


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
async def test_async_invoke_and_stream(httpserver, protocol: Protocol) -> None:
    serve(httpserver, protocol, protocol.reply("async answer here"))
    model = ResilientChatModel(models=[protocol.build(httpserver.url_for("").rstrip("/"), 5.0)],
                               cache_policy={"enabled": False})
    assert (await model.ainvoke("hi")).content == "async answer here"
    text = "".join([str(c.content) async for c in model.astream("hi")])
    assert text == "async answer here"


def test_perplexity_citations_kept_in_metadata(httpserver) -> None:
    serve(httpserver, PERPLEXITY, PERPLEXITY.reply("grounded answer"))
    model = ResilientChatModel(models=[PERPLEXITY.build(httpserver.url_for("").rstrip("/"), 5.0)],
                               cache_policy={"enabled": False})
    answer = model.invoke("who?")
    assert answer.response_metadata["citations"] == CITATIONS

"""The OpenAI-compatible gateway over real HTTP: the official ``openai`` client (sync, async,
streaming, tools, response_format) and LangChain's ChatOpenAI against the server, the
upstream a local server speaking OpenAI's wire protocol; failover and the error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.server_util import (
    ANSWER,
    STRUCTURED,
    TOOL_ARGS,
    UPSTREAM_KEY,
    Upstream,
    app_for,
    configure,
    serving,
)
from tests.wire import OPENAI, cut_stream, http_error, serve

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
    "type": "object", "properties": {"city": {"type": "string"},
                                     "population": {"type": "integer"}},
    "required": ["city", "population"], "additionalProperties": False}}}


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Upstream:
    handler = Upstream()
    serve(httpserver, OPENAI, handler)
    return handler


@pytest.fixture(params=[True, False], ids=["passthrough", "langchain"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path, httpserver: HTTPServer,
            upstream: Upstream) -> Iterator[str]:
    """The server, streaming from the OpenAI-wire upstream byte for byte or through the
    LangChain chain (both ways must give the same answers)."""
    configure(httpserver.url_for("").rstrip("/"), passthrough=request.param)
    with serving(app_for(tmp_path)) as url:
        yield url


def _client(url: str, **kwargs: Any) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, **kwargs)


def test_openai_client_sync_completion_and_parameters(gateway: str, upstream: Upstream) -> None:
    client = _client(gateway)
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "system", "content": "be brief"},
                                   {"role": "user", "content": "hi"}],
        temperature=0.3, max_tokens=42, seed=7, stop=["END"])
    answer = raw.parse()
    assert answer.choices[0].message.content == ANSWER
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens == 10
    assert raw.headers["x-localagent-provider"].startswith("openai")
    assert raw.headers["x-localagent-attempts"] == "1"
    assert raw.headers["x-localagent-cached"] == "false"
    sent = upstream.requests[-1]["body"]
    assert sent["temperature"] == 0.3 and sent["seed"] == 7 and sent["stop"] == ["END"]
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 42
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert upstream.requests[-1]["auth"] == f"Bearer {UPSTREAM_KEY}"


async def test_openai_client_async_and_streaming_with_usage(gateway: str) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
    answer = await client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == ANSWER
    stream = await client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ANSWER
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 10
    await client.close()


def test_stream_is_server_sent_events_ending_with_done(gateway: str) -> None:
    body = {"model": "default", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    with httpx.stream("POST", f"{gateway}/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-localagent-provider"].startswith("openai")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert not any("usage" in e for e in events)  # not asked for


def test_tools_and_tool_calls_plain_and_streamed(gateway: str, upstream: Upstream) -> None:
    client = _client(gateway)
    messages = [{"role": "user", "content": "weather in Paris?"}]
    answer = client.chat.completions.create(model="default", messages=messages,
                                            tools=[WEATHER], tool_choice="auto")
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == TOOL_ARGS
    assert answer.choices[0].finish_reason == "tool_calls"
    assert upstream.requests[-1]["body"]["tools"][0]["function"]["name"] == "get_weather"
    stream = client.chat.completions.create(model="default", messages=messages,
                                            tools=[WEATHER], stream=True)
    chunks = list(stream)
    pieces = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert pieces[0].id == "call_1" and pieces[0].function.name == "get_weather"
    assert json.loads("".join(p.function.arguments or "" for p in pieces)) == TOOL_ARGS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    # the tool's answer goes back as a tool message
    follow = [*messages, answer.choices[0].message.model_dump(exclude_none=True),
              {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    done = client.chat.completions.create(model="default", messages=follow)
    assert done.choices[0].message.content == ANSWER
    sent = upstream.requests[-1]["body"]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_response_format_json_schema(gateway: str, upstream: Upstream) -> None:
    client = _client(gateway)
    answer = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Paris?"}],
        response_format=SCHEMA)  # type: ignore[arg-type]
    assert json.loads(answer.choices[0].message.content or "") == STRUCTURED
    sent = upstream.requests[-1]["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "city"
    stream = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Paris?"}],
        response_format=SCHEMA, stream=True)  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert json.loads(text) == STRUCTURED


def test_langchain_chat_openai_through_the_gateway(gateway: str) -> None:
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    model = ChatOpenAI(model="default", base_url=f"{gateway}/v1", api_key="unused",
                       max_retries=0, stream_usage=True)
    assert model.invoke("hi").content == ANSWER
    streamed = list(model.stream("hi"))
    assert "".join(str(c.content) for c in streamed) == ANSWER
    assert sum((c.usage_metadata or {}).get("total_tokens", 0) for c in streamed) == 10
    call = model.bind_tools([WEATHER]).invoke("weather?")
    assert call.tool_calls[0]["name"] == "get_weather" and call.tool_calls[0]["args"] == TOOL_ARGS

    class City(BaseModel):
        city: str
        population: int

    assert model.with_structured_output(City).invoke("Paris?") == City(**STRUCTURED)


def test_models_lists_default_chains_and_providers(
        tmp_path: Path, httpserver: HTTPServer, backup_server: HTTPServer) -> None:
    configure(httpserver.url_for("").rstrip("/"), backup_server.url_for("").rstrip("/"))
    with serving(app_for(tmp_path)) as url:
        models = [m.id for m in _client(url).models.list()]
    assert models[:2] == ["default", "pair"]
    assert "openai" in models and "openai-compatible" in models


def test_fallback_when_the_first_upstream_fails(
        tmp_path: Path, httpserver: HTTPServer, backup_server: HTTPServer) -> None:
    serve(httpserver, OPENAI, http_error(500))
    backup = Upstream()
    serve(backup_server, OPENAI, backup)
    configure(httpserver.url_for("").rstrip("/"), backup_server.url_for("").rstrip("/"))
    with serving(app_for(tmp_path)) as url:
        raw = _client(url).chat.completions.with_raw_response.create(
            model="pair", messages=[{"role": "user", "content": "hi"}])
        assert raw.parse().choices[0].message.content == ANSWER
        assert raw.headers["x-localagent-provider"].startswith("openai-compatible")
        assert int(raw.headers["x-localagent-attempts"]) >= 2  # the primary's, then the backup
        stream = _client(url).chat.completions.create(
            model="pair", messages=[{"role": "user", "content": "hi"}], stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ANSWER
    assert len(backup.requests) == 2


def _post(url: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30, **kwargs)


def test_error_shapes(gateway: str) -> None:
    hi = [{"role": "user", "content": "hi"}]
    unknown = _post(gateway, {"model": "nope:x", "messages": hi})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"
    assert unknown.json()["error"]["param"] == "model"
    missing = _post(gateway, {"model": "default"})
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "messages" in missing.json()["error"]["message"]
    bad_role = _post(gateway, {"model": "default", "messages": [{"content": "x"}]})
    assert bad_role.status_code == 400 and "messages[0]" in bad_role.json()["error"]["message"]
    not_json = httpx.post(f"{gateway}/v1/chat/completions", content=b"{oops", timeout=10)
    assert not_json.status_code == 400
    json_object = _post(gateway, {"model": "default", "messages": hi,
                                  "response_format": {"type": "json_object"}})
    assert json_object.status_code == 400
    assert json_object.json()["error"]["param"] == "response_format"
    from openai import NotFoundError

    with pytest.raises(NotFoundError):
        _client(gateway).chat.completions.create(model="nope:x", messages=hi)  # type: ignore[arg-type]


def test_all_down_is_503_with_attempts_and_no_key(
        tmp_path: Path, httpserver: HTTPServer, backup_server: HTTPServer) -> None:
    serve(httpserver, OPENAI, http_error(500, message=f"upstream saw key {UPSTREAM_KEY}"))
    serve(backup_server, OPENAI, http_error(502))
    configure(httpserver.url_for("").rstrip("/"), backup_server.url_for("").rstrip("/"))
    with serving(app_for(tmp_path)) as url:
        down = _post(url, {"model": "pair", "messages": [{"role": "user", "content": "x"}]})
    assert down.status_code == 503
    error = down.json()["error"]
    assert error["code"] == "providers_unavailable"
    assert {a["outcome"] for a in error["attempts"]} == {"server_error"}
    assert {a["provider"].split(":")[0] for a in error["attempts"]} == {"openai-compatible"}
    assert len({a["provider"] for a in error["attempts"]}) == 2  # both were tried
    assert UPSTREAM_KEY not in down.text


def test_all_rate_limited_is_429_with_retry_after(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    # longer than any provider would wait for: the chain gives up at once
    serve(httpserver, OPENAI, http_error(429, headers={"Retry-After": "3600"}))
    configure(httpserver.url_for("").rstrip("/"))
    with serving(app_for(tmp_path)) as url:
        limited = _post(url, {"model": "default", "messages": [{"role": "user", "content": "x"}]})
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1


def test_deadline_is_504(tmp_path: Path, httpserver: HTTPServer) -> None:
    from tests.wire import slow

    serve(httpserver, OPENAI, slow(Upstream(), 3))
    configure(httpserver.url_for("").rstrip("/"))
    import yaml

    from tests.cli_util import write_user_config

    config = Path(tmp_path / "config" / "config.yaml")
    data = yaml.safe_load(config.read_text())
    data["performance"] = {"deadline": 0.5}
    write_user_config(data)
    with serving(app_for(tmp_path)) as url:
        late = _post(url, {"model": "default", "messages": [{"role": "user", "content": "x"}]})
    assert late.status_code == 504
    assert late.json()["error"]["code"] == "deadline_exceeded"


@pytest.mark.parametrize("passthrough", [True, False])
def test_stream_failing_after_first_chunk_ends_with_an_error_event(
        tmp_path: Path, httpserver: HTTPServer, passthrough: bool) -> None:
    serve(httpserver, OPENAI, cut_stream(OPENAI, "one two three four five", keep=3))
    configure(httpserver.url_for("").rstrip("/"), passthrough=passthrough)
    with serving(app_for(tmp_path)) as url:
        body = {"model": "default", "stream": True,
                "messages": [{"role": "user", "content": "x"}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body,
                          timeout=30) as response:
            assert response.status_code == 200
            lines = [line for line in response.iter_lines() if line]
    from openai import APIError

    from providers.guards import reset_breakers

    reset_breakers()  # the cut stream counted against the provider's breaker
    with serving(app_for(tmp_path)) as url:
        stream = _client(url).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "x"}], stream=True)
        with pytest.raises(APIError, match="stream failed"):
            list(stream)
    assert "data: [DONE]" not in lines
    last = json.loads(lines[-1][6:])
    assert last["error"]["code"] == "stream_interrupted"
    assert any(json.loads(line[6:]).get("choices") for line in lines[:-1])  # content came first


@pytest.mark.parametrize("stream", [False, True])
def test_a_cached_answer_says_so(tmp_path: Path, httpserver: HTTPServer, stream: bool) -> None:
    upstream = Upstream()
    serve(httpserver, OPENAI, upstream)
    configure(httpserver.url_for("").rstrip("/"), cache=True)
    body = {"model": "default", "temperature": 0, "stream": stream,
            "messages": [{"role": "user", "content": "same question"}]}
    with serving(app_for(tmp_path)) as url:
        first, second = _post(url, body), _post(url, body)
    assert first.headers["x-localagent-cached"] == "false"
    assert second.headers["x-localagent-cached"] == "true"
    assert len(upstream.requests) == 1
    if stream:
        assert second.text.rstrip().endswith("data: [DONE]") and "upstream" in second.text
    else:
        assert second.json()["choices"][0]["message"]["content"] == ANSWER

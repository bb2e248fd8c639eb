"""Provider specs, chains, client reuse and Ollama's context length."""

from __future__ import annotations

import logging

import pytest

from providers.errors import AllProvidersFailed, ProviderUnavailable
from providers.factory import client_for, expand_chain, get_chat_model
from providers.registry import ProviderPlugin, get_plugin, parse_spec, provider_names, register
from providers.settings import ProvidersConfig, ProviderSettings
from tests.fakes import ScriptedChatModel


def test_parse_spec() -> None:
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_spec("Ollama") == ("ollama", None)
    assert parse_spec("ollama:qwen2.5:7b") == ("ollama", "qwen2.5:7b")
    with pytest.raises(ProviderUnavailable):
        parse_spec("  ")


def test_chains_expand_from_config() -> None:
    config = ProvidersConfig(chains={"fast": ["openai:gpt-4o-mini", "ollama"]})
    assert expand_chain("fast,gemini", config) == ["openai:gpt-4o-mini", "ollama", "gemini"]
    assert expand_chain(None, config) == ["ollama", "local"]
    named = ProvidersConfig(chains={"fast": ["openai:gpt-4o-mini", "ollama"]},
                            default_chain=["fast"])
    assert expand_chain(None, named) == ["openai:gpt-4o-mini", "ollama"]


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ProviderUnavailable, match=r"known providers: .*ollama"):
        get_plugin("nope")


def test_clients_are_built_once_per_process() -> None:
    config = ProvidersConfig(providers={"openai": ProviderSettings(api_key="sk-x")})
    first = client_for("openai:gpt-4o-mini", config)
    assert client_for("openai:gpt-4o-mini", config) is first
    assert client_for("openai:gpt-4o", config) is not first
    assert first.max_retries == 0  # type: ignore[attr-defined]


def test_missing_keys_leave_a_provider_out_with_the_reason() -> None:
    config = ProvidersConfig(providers={"openai-compatible": ProviderSettings(
        base_url="http://127.0.0.1:9/v1")})
    model = get_chat_model("openai:gpt-4o-mini,openai-compatible:qwen", config=config)
    assert [c.name for c in model.base_candidates()] == ["openai-compatible:qwen@127.0.0.1:9"]
    with pytest.raises(AllProvidersFailed, match="OPENAI_API_KEY"):
        get_chat_model("openai,gemini,perplexity", config=config)


def test_local_model_path_that_does_not_exist_is_named() -> None:
    config = ProvidersConfig(providers={"local": ProviderSettings(model_path="/no/m.gguf")})
    with pytest.raises(AllProvidersFailed, match=r"model_path: /no/m.gguf does not exist"):
        get_chat_model("local", config=config)


def test_registered_plugin_is_used() -> None:
    register(ProviderPlugin("scripted", lambda model, settings: ScriptedChatModel(
        model_name=model, script=[f"hi from {model}"])))
    assert "scripted" in provider_names()
    model = get_chat_model("scripted:m1", cache_policy={"enabled": False})
    assert model.invoke("x").content == "hi from m1"


def test_ollama_context_length_read_from_api_show(httpserver) -> None:
    from providers.builtin import ollama

    ollama.model_context_length.cache_clear()
    httpserver.expect_request("/api/show", method="POST", json={"model": "qwen-test"}
                              ).respond_with_json({"model_info": {
                                  "general.architecture": "qwen2",
                                  "qwen2.context_length": 131072}})
    url = httpserver.url_for("").rstrip("/")
    big = ollama.build("qwen-test", ProviderSettings(base_url=url))
    assert big.num_ctx == 32768  # type: ignore[attr-defined]  # capped by max_context
    small = ollama.build("qwen-test", ProviderSettings(base_url=url, max_context=200_000))
    assert small.num_ctx == 131072  # type: ignore[attr-defined]


def test_ollama_not_running_is_a_debug_line_once_and_falls_through(
        refused_url, caplog) -> None:
    from providers.builtin import ollama

    ollama.model_context_length.cache_clear()
    register(ProviderPlugin("scripted-fallback", lambda model, settings: ScriptedChatModel(
        model_name=model, script=["fallback answer"])))
    config = ProvidersConfig(providers={"ollama": ProviderSettings(base_url=refused_url)})
    with caplog.at_level(logging.DEBUG, logger="providers.builtin.ollama"):
        for _ in range(3):
            model = get_chat_model("ollama:llama3.2,scripted-fallback:m", config=config,
                                   cache_policy={"enabled": False})
        assert model.invoke("x").content == "fallback answer"
    records = [r for r in caplog.records if r.name == "providers.builtin.ollama"]
    assert [r.levelno for r in records] == [logging.DEBUG]
    assert "no answer from" in records[0].getMessage()


def test_ollama_health_and_models(httpserver) -> None:
    httpserver.expect_request("/api/tags").respond_with_json(
        {"models": [{"name": "llama3.2:latest"}, {"name": "qwen2.5:7b"}]})
    url = httpserver.url_for("").rstrip("/")
    config = ProvidersConfig(providers={"ollama": ProviderSettings(base_url=url)})
    model = get_chat_model("ollama:llama3.2", config=config)
    [report] = model.health()
    assert report["reachable"] is True
    assert report["models"] == ["llama3.2:latest", "qwen2.5:7b"]


def test_openai_health_reports_bad_key_without_spending_tokens(httpserver) -> None:
    httpserver.expect_request("/v1/models").respond_with_json(
        {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}},
        status=401)
    config = ProvidersConfig(providers={"openai": ProviderSettings(
        api_key="sk-bad", base_url=httpserver.url_for("/v1"))})
    [report] = get_chat_model("openai:gpt-4o-mini", config=config).health()
    assert report["reachable"] is True and report["auth_ok"] is False
    assert "sk-bad" not in str(report)
    assert all(r.path == "/v1/models" for r, _ in httpserver.log)


def test_gemini_safety_settings_and_no_sdk_retries() -> None:
    from providers.builtin import gemini

    model = gemini.build("gemini-2.0-flash", ProviderSettings(
        api_key="g-key", safety_settings={"harm_category_dangerous_content": "block_none"}))
    assert model.max_retries == 0  # type: ignore[attr-defined]
    [(category, threshold)] = model.safety_settings.items()  # type: ignore[attr-defined]
    assert (category.value, threshold.value) == ("HARM_CATEGORY_DANGEROUS_CONTENT", "BLOCK_NONE")
    with pytest.raises(ProviderUnavailable, match="safety_settings"):
        gemini.build("gemini-2.0-flash", ProviderSettings(
            api_key="g-key", safety_settings={"harm_category_nonsense": "block_none"}))

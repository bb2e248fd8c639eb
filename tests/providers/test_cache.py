"""Response cache: exact-match keys, temperature-0 default, replayed streams, processes."""

from __future__ import annotations

import functools
import operator
import subprocess
import sys
import textwrap

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from providers.cache import ResponseCache
from providers.policy import CachePolicy
from providers.resilient import ResilientChatModel
from tests.fakes import ScriptedChatModel


def cached_chain(tmp_path, model, **kwargs) -> ResilientChatModel:
    store = ResponseCache(CachePolicy(), directory=tmp_path / "rc")
    return ResilientChatModel(models=[model], response_cache=store, **kwargs)


def test_temperature_zero_calls_are_cached(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0, script=["first", "second"])
    model = cached_chain(tmp_path, fake)
    one = model.invoke("same question")
    two = model.invoke("same question")
    assert one.content == two.content == "first"
    assert len(fake.calls) == 1
    assert two.response_metadata["localagent"]["cached"] is True
    assert two.response_metadata["localagent"]["cost"] == 0
    assert model.usage()["scripted:scripted"]["cache_hits"] == 1


def test_other_temperatures_are_not_cached_unless_asked(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0.7, script=["a", "b", "c"])
    model = cached_chain(tmp_path, fake)
    assert model.invoke("q").content == "a"
    assert model.invoke("q").content == "b"
    assert model.invoke("q", cache=True).content == "c"
    assert model.invoke("q", cache=True).content == "c"


def test_cache_false_per_call_bypasses(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0, script=["a", "b"])
    model = cached_chain(tmp_path, fake)
    model.invoke("q")
    assert model.invoke("q", cache=False).content == "b"


def test_key_covers_messages_params_and_tools(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0, script=["1", "2", "3", "4", "5"])
    model = cached_chain(tmp_path, fake)

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert model.invoke("q").content == "1"
    assert model.invoke([HumanMessage("q"), HumanMessage("more")]).content == "2"
    assert model.invoke("q", stop=["x"]).content == "3"
    assert model.bind_tools([add]).invoke("q").content == "4"
    assert model.bind_tools([add], tool_choice="add").invoke("q").content == "5"
    assert model.invoke("q").content == "1"


def test_streaming_call_replays_chunks_from_cache(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0, script=["one two three", "changed"])
    model = cached_chain(tmp_path, fake)
    first = [c.content for c in model.stream("q") if c.content]
    again = list(model.stream("q"))
    assert [c.content for c in again if c.content] == first == ["one", " two", " three"]
    assert len(fake.calls) == 1
    final = functools.reduce(operator.add, again)
    assert final.response_metadata["localagent"]["cached"] is True
    assert model.invoke("q").content == "one two three"  # a stream fills the invoke cache too


def test_ttl_expires(tmp_path) -> None:
    store = ResponseCache(CachePolicy(ttl_seconds=0.05), directory=tmp_path / "ttl")
    fake = ScriptedChatModel(temperature=0, script=["a", "b"])
    model = ResilientChatModel(models=[fake], response_cache=store)
    model.invoke("q")
    import time

    time.sleep(0.1)
    assert model.invoke("q").content == "b"


def test_cache_is_shared_across_processes(tmp_path) -> None:
    directory = tmp_path / "shared"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parents[2])!r})
        from providers.cache import ResponseCache
        from providers.policy import CachePolicy
        from providers.resilient import ResilientChatModel
        from tests.fakes import ScriptedChatModel
        store = ResponseCache(CachePolicy(), directory={str(directory)!r})
        fake = ScriptedChatModel(temperature=0, script=[sys.argv[1]])
        print(ResilientChatModel(models=[fake], response_cache=store).invoke("q").content)
    """)
    first = subprocess.run([sys.executable, "-c", script, "from-process-1"], capture_output=True,
                           text=True, check=True)
    second = subprocess.run([sys.executable, "-c", script, "from-process-2"],
                            capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "from-process-1"
    assert second.stdout.strip() == "from-process-1"


def test_cache_disabled_by_policy(tmp_path) -> None:
    fake = ScriptedChatModel(temperature=0, script=["a", "b"])
    model = ResilientChatModel(models=[fake], cache_policy=CachePolicy(enabled=False))
    model.invoke("q")
    assert model.invoke("q").content == "b"


class Weather(BaseModel):
    city: str
    celsius: int


def test_temperature_zero_structured_output_is_cached(tmp_path) -> None:
    answer = AIMessage("", tool_calls=[{"name": "Weather", "args": {"city": "Oslo",
                                                                    "celsius": -3}, "id": "1"}])
    fake = ScriptedChatModel(temperature=0, script=[answer, RuntimeError("called twice")])
    model = cached_chain(tmp_path, fake)

    first = model.with_structured_output(Weather).invoke("weather in Oslo?")
    again = model.with_structured_output(Weather, include_raw=True).invoke("weather in Oslo?")

    assert first == again["parsed"] == Weather(city="Oslo", celsius=-3)
    assert len(fake.calls) == 1
    assert again["raw"].response_metadata["localagent"]["cached"] is True
    hotter = ScriptedChatModel(temperature=0.7, script=[answer, answer])
    warm = cached_chain(tmp_path, hotter)
    warm.with_structured_output(Weather).invoke("weather in Oslo?")
    warm.with_structured_output(Weather).invoke("weather in Oslo?")
    assert len(hotter.calls) == 2  # not deterministic: not cached


def test_one_cache_directory_for_responses_models_and_the_cli(tmp_path, monkeypatch) -> None:
    from localagent import paths
    from providers.cache import cache_directory
    from providers.local_files import models_dir

    monkeypatch.setenv("LOCALAGENT_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    assert ResponseCache().directory == cache_directory(CachePolicy()) == tmp_path / "c/responses"
    assert models_dir() == tmp_path / "c/models"
    monkeypatch.setenv("LOCALAGENT_CACHE_DIR", "~/elsewhere")  # expanded the same everywhere
    home = paths.cache_dir()
    assert home.is_absolute() and ResponseCache().directory == home / "responses"
    assert models_dir() == home / "models"
    configured = CachePolicy(directory=str(tmp_path / "mine"))
    assert ResponseCache(configured).directory == cache_directory(configured) == tmp_path / "mine"

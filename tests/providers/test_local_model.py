"""The embedded model, for real: llama.cpp in-process on the bundled Gemma 3 270M GGUF.
No fakes. Answers are not judged for quality, only for shape."""

from __future__ import annotations

import functools
import json
import operator
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from graph.agent import build_agent
from graph.context import WorkflowContext
from nodes.model_calls import ModelSource
from providers.factory import get_chat_model
from providers.local_chat import LocalChatModel
from providers.local_files import assemble_default
from providers.settings import ProvidersConfig, ProviderSettings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(assemble_default(directory=tmp_path_factory.mktemp("models")))


@pytest.fixture
def local(gguf: str) -> LocalChatModel:
    return LocalChatModel(model_path=gguf, n_ctx=4096, max_tokens=64, temperature=0)


class City(BaseModel):
    """A city and its country."""

    name: str = Field(description="the city's name")
    country: str


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(description="age in years")
    hobbies: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    """Whether a claim is true."""

    claim_is_true: bool
    reason: str


def test_answers_a_chat_and_counts_tokens(local: LocalChatModel) -> None:
    answer = local.invoke([HumanMessage("Say hello in one word.")])
    assert isinstance(answer.content, str) and answer.content.strip()
    assert answer.usage_metadata and answer.usage_metadata["output_tokens"] > 0
    assert answer.usage_metadata["input_tokens"] > 0


def test_streams_tokens(local: LocalChatModel) -> None:
    chunks = list(local.stream([HumanMessage("Count from one to five in words.")]))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 3  # token by token, not one block
    whole = functools.reduce(operator.add, chunks)
    assert whole.usage_metadata and whole.usage_metadata["output_tokens"] == len(texts)
    assert whole.content == "".join(str(t) for t in texts)


@pytest.mark.parametrize(("schema", "prompt"), [
    (City, "Paris is the capital of France. Which city and country?"),
    (Person, "Ada is 36 and likes chess and maths. Describe her."),
    (Verdict, "Claim: water is dry. Is the claim true?"),
])
def test_structured_output_always_parses(local: LocalChatModel, schema: type[BaseModel],
                                         prompt: str) -> None:
    result = local.with_structured_output(schema).invoke(prompt)
    assert isinstance(result, schema)


def test_structured_output_through_the_resilient_chain(gguf: str) -> None:
    config = ProvidersConfig(providers={"local": ProviderSettings(model_path=gguf,
                                                                  max_tokens=64)})
    model = get_chat_model("local", config=config)
    out = model.with_structured_output(City, include_raw=True).invoke("Rome is in Italy.")
    assert isinstance(out["parsed"], City)
    assert out["raw"].response_metadata["localagent"]["provider"].startswith("local")
    # it says how big it is, so a run can warn that a 270M model cannot do real work
    assert 200e6 < out["raw"].response_metadata["model_parameters"] < 300e6
    assert out["raw"].response_metadata["model_description"] == "Gemma 3 270m"


def test_runs_on_every_core_unless_told_otherwise(gguf: str) -> None:
    config = ProvidersConfig(providers={"local": ProviderSettings(model_path=gguf,
                                                                  max_tokens=64)})
    local = get_chat_model("local", config=config).base_candidates()[0].runnable
    llama = local.loaded().llama
    # llama.cpp alone would take half of them
    assert llama.context_params.n_threads == len(os.sched_getaffinity(0))


LOAD = """
import logging, sys
if sys.argv[2] == "debug":
    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
from providers.local_chat import load
load(sys.argv[1], 512, None, 0).llama.create_completion("Hi", max_tokens=2)
print("loaded", flush=True)
"""


@pytest.mark.parametrize("level", ["quiet", "debug"])
def test_llama_cpp_native_logs_show_only_when_debugging(gguf: str, level: str) -> None:
    done = subprocess.run([sys.executable, "-c", LOAD, gguf, level], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "llama_kv_cache_iswa" not in done.stderr  # it split the live table
    assert ("DEBUG:llama_cpp:llama_kv_cache_iswa" in done.stdout) == (level == "debug")


async def test_agent_subgraph_tool_round_trip(local: LocalChatModel, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("The secret word is banana.\n")
    agent = build_agent(ModelSource.fixed(local))
    out = await agent.ainvoke(
        {"phase": "research", "stream": "notes", "role": "codebase-research-analyst",
         "workspace": str(tmp_path), "task": "Find the secret word in notes.txt."},
        context=WorkflowContext(auto_approve=True, max_iterations=0))
    calls = [e for e in out["activity"] if e["kind"] == "tool_call"]
    assert calls, "the first turn must call a tool"
    assert calls[0]["tool"] in {"list_files", "read_file", "search_code"}
    assert out["result"]["status"] == "ok" and out["result"]["summary"]


def test_workflow_on_the_example_repo_end_to_end(gguf: str, tmp_path: Path) -> None:
    repo = tmp_path / "todo-app"
    shutil.copytree(ROOT / "examples" / "todo-app", repo)
    thread = uuid.uuid4().hex[:8]
    # as the README's main job: the example's checks borrow LocalAgent's virtualenv
    env = {**os.environ, "LOCALAGENT_PROVIDERS__LOCAL__MODEL_PATH": gguf,
           "VIRTUAL_ENV": sys.prefix}
    script = Path(sys.executable).parent / "localagent"
    done = subprocess.run(
        [str(script), "--format", "json", "--provider", "local", "make the failing test pass",
         "-w", str(repo), "--yes", "--thread", thread, "--max-parallel", "1",
         "--max-iterations", "0", "--max-steps", "3"],
        capture_output=True, text=True, env=env, timeout=1200, stdin=subprocess.DEVNULL)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the checks may still fail
    doc = json.loads(done.stdout)
    assert doc["status"] == "done"
    assert doc["activity"]["model_calls"] >= 5
    [notice] = doc["notices"]  # said once: this model cannot do real work
    assert notice.startswith("Gemma 3 270m (268M parameters") and "--provider" in notice
    report = json.loads((repo / ".localagent" / "runs" / thread / "report.json").read_text())
    assert report["status"] == "done" and report["scope"]["summary"]
    assert report["plan"]["streams"] and report["validation"]["checks"]
    assert set(report["usage"]["by_provider"]) == {next(iter(report["usage"]["by_provider"]))}
    assert next(iter(report["usage"]["by_provider"])).startswith("local")
    assert report["notices"] == [notice]
    checks = report["validation"]["checks"]
    assert "No module named pytest" not in checks[0]["output_tail"]  # the lent virtualenv


def test_pull_local_assembles_the_bundled_model_once() -> None:
    from typer.testing import CliRunner

    from localagent.cli.app import app
    from providers.local_files import default_model_file

    runner = CliRunner()
    first = runner.invoke(app, ["--format", "json", "models", "pull-local"])
    assert first.exit_code == 0, first.output
    path = Path(json.loads(first.stdout)["path"])
    assert path == default_model_file() and path.stat().st_size > 200_000_000
    assert str(os.environ["LOCALAGENT_CACHE_DIR"]) in str(path)  # the cache dir, not ~/.cache
    stamp = path.stat().st_mtime_ns
    again = runner.invoke(app, ["models", "pull-local"])  # checked, not rewritten
    assert again.exit_code == 0 and again.stdout.strip() == str(path)
    assert path.stat().st_mtime_ns == stamp


def test_an_amx_build_loads_without_repacking_and_still_answers(
        gguf: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import providers.local_chat as local_chat

    monkeypatch.setattr(local_chat, "amx_build", lambda: True)
    loaded = local_chat.load(gguf, 1024, None, 0)  # a size no other test loads
    assert loaded.repack is False
    out = loaded.llama.create_completion("The sky is", max_tokens=4)
    assert out["usage"]["completion_tokens"] > 0


async def test_async_calls_take_turns_without_blocking_the_event_loop(
        local: LocalChatModel) -> None:
    import asyncio

    from tests.graph_fakes import no_blocking

    llama = local.loaded().llama
    original = llama.create_chat_completion
    active, most, ticks = 0, 0, 0

    def counted(**kwargs: object) -> object:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            return original(**kwargs)
        finally:
            active -= 1

    async def ticker(until: asyncio.Future[object]) -> None:
        nonlocal ticks
        while not until.done():
            ticks += 1
            await asyncio.sleep(0.01)

    llama.create_chat_completion = counted
    try:
        with no_blocking():
            both = asyncio.gather(local.ainvoke("Name a colour."), local.ainvoke("Name a fruit."))
            await asyncio.gather(both, ticker(both))
    finally:
        llama.create_chat_completion = original
    assert most == 1          # one generation at a time per loaded model
    assert ticks > 10         # the loop kept running while both generated
    assert all(m.content for m in both.result())


class Story(BaseModel):
    """A story."""

    text: str = Field(min_length=1000, description="the story")


async def test_a_cancelled_call_stops_generating_at_the_next_token(gguf: str) -> None:
    """Ctrl-C cancels the call; its worker thread must not go on for hundreds of tokens
    (that held the CLI's exit, and the model's lock, until the answer was complete)."""
    import asyncio

    local = LocalChatModel(model_path=gguf, n_ctx=4096, max_tokens=400, temperature=0)
    loaded = local.loaded()
    steps = 0
    checked = loaded.llama._ctx.decode

    def counting(batch: object) -> object:
        nonlocal steps
        steps += 1
        return checked(batch)

    loaded.llama._ctx.decode = counting
    try:
        call = asyncio.ensure_future(
            local.with_structured_output(Story).ainvoke("Tell a long story about a cat."))
        while steps < 20:  # the grammar holds it to 1000 characters: far from done
            assert not call.done()
            await asyncio.sleep(0.01)
        call.cancel()
        at_cancel = steps
        await asyncio.to_thread(loaded.lock.acquire)  # the worker has let go of the model
        loaded.lock.release()
    finally:
        loaded.llama._ctx.decode = checked
    assert steps - at_cancel <= 2
    again = await local.ainvoke("Say hi.")  # the model is fine afterwards
    assert isinstance(again.content, str)

"""The chat graph: history per thread, token streaming, the langgraph.json export."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import Field
from pytest_httpserver import HTTPServer

from graph.chat import ChatContext, build_chat
from tests.graph.test_langgraph_dev import server  # noqa: F401  (the langgraph dev fixture)
from tests.graph_fakes import no_blocking
from tests.wire import OPENAI

ROOT = Path(__file__).resolve().parents[2]


class ScriptedChat(BaseChatModel):
    """Answers in order, word by word when streamed; records what each call was sent."""

    answers: list[str]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.seen.append(list(messages))
        return self.answers[len(self.seen) - 1]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._next(messages)))])

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any
                       ) -> AsyncIterator[ChatGenerationChunk]:
        for i, word in enumerate(self._next(messages).split(" ")):
            chunk = ChatGenerationChunk(message=AIMessageChunk(word if i == 0 else f" {word}"))
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def texts(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


async def turn(graph: Any, text: str, thread: str) -> list[AIMessageChunk]:
    chunks: list[AIMessageChunk] = []
    with no_blocking():
        async for chunk, meta in graph.astream({"messages": [HumanMessage(text)]},
                                               config(thread), context=ChatContext(),
                                               stream_mode="messages"):
            assert meta["langgraph_node"] == "chat"
            chunks.append(chunk)
    return chunks


async def test_two_turns_on_one_thread_keep_the_history() -> None:
    model = ScriptedChat(answers=["Hi Ada, nice to meet you", "Your name is Ada"])
    graph = build_chat(model=model, checkpointer=InMemorySaver())
    await turn(graph, "my name is Ada", "t1")
    await turn(graph, "what is my name?", "t1")

    first, second = model.seen
    assert first[0].type == "system" and "LocalAgent" in first[0].text
    assert texts(first[1:]) == [("human", "my name is Ada")]
    assert texts(second[1:]) == [("human", "my name is Ada"),
                                 ("ai", "Hi Ada, nice to meet you"),
                                 ("human", "what is my name?")]
    state = await graph.aget_state(config("t1"))
    assert texts(state.values["messages"]) == [*texts(second[1:]), ("ai", "Your name is Ada")]
    # the system prompt is sent, never stored
    assert all(m.type != "system" for m in state.values["messages"])


async def test_threads_do_not_share_history() -> None:
    model = ScriptedChat(answers=["one", "two"])
    graph = build_chat(model=model, checkpointer=InMemorySaver())
    await turn(graph, "first thread", "a")
    await turn(graph, "second thread", "b")
    assert texts(model.seen[1][1:]) == [("human", "second thread")]


async def test_messages_mode_streams_the_answer_token_by_token() -> None:
    graph = build_chat(model=ScriptedChat(answers=["streamed in five small pieces"]),
                       checkpointer=InMemorySaver())
    chunks = await turn(graph, "hello", "s")
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    # (langchain-core closes a stream with an empty chunk)
    assert [c.text for c in chunks if c.text] == ["streamed", " in", " five", " small", " pieces"]


def test_the_served_graph_has_no_checkpointer_and_is_in_langgraph_json() -> None:
    from graph import served

    assert served.chat.checkpointer is None
    assert served.chat.context_schema is ChatContext
    assert list(served.chat.nodes) == ["__start__", "chat"]
    graphs = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    assert graphs["chat"] == "./graph/served.py:chat"


def test_the_system_prompt_ships_with_the_package() -> None:
    from prompts import load_prompt

    assert load_prompt("phases/chat").body.strip()




async def test_the_configured_provider_streams_without_blocking_the_loop(
        httpserver: HTTPServer) -> None:
    """No injected model: the node builds the provider chain off the loop, as under
    `langgraph dev`, and the real OpenAI client's tokens come through messages mode."""
    httpserver.expect_request("/v1/chat/completions").respond_with_handler(
        OPENAI.reply("a streamed answer"))
    config_dir = Path(os.environ["LOCALAGENT_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.yaml").write_text(yaml.safe_dump({
        "system": {"default_provider": "openai-compatible:some-model"},
        "providers": {"openai-compatible": {"base_url": httpserver.url_for("/v1")}}}))
    graph = build_chat(checkpointer=InMemorySaver())
    chunks = await turn(graph, "hi", "wire")
    assert [c.text for c in chunks if c.text] == ["a", " streamed", " answer"]
    [(request, _)] = httpserver.log
    assert json.loads(request.get_data())["stream"] is True


async def test_langgraph_dev_serves_the_chat_and_streams_tokens(
        server: str, httpserver: HTTPServer) -> None:  # noqa: F811
    from langgraph_sdk import get_client

    # one-shot handlers answer before the workflow's scripted one
    httpserver.expect_oneshot_request("/v1/chat/completions").respond_with_handler(
        OPENAI.reply("served over the wire"))
    client = get_client(url=server)
    thread = (await client.threads.create())["thread_id"]
    tokens: list[str] = []
    async for part in client.runs.stream(thread, "chat", stream_mode="messages-tuple",
                                         input={"messages": [{"role": "user",
                                                              "content": "hi"}]}):
        assert part.event != "error", part.data
        if part.event == "messages":
            message, meta = part.data
            assert meta["langgraph_node"] == "chat"
            tokens.append(message["content"])
    assert [t for t in tokens if t] == ["served", " over", " the", " wire"]
    state = await client.threads.get_state(thread)
    assert [(m["type"], m["content"]) for m in state["values"]["messages"]] == [
        ("human", "hi"), ("ai", "served over the wire")]

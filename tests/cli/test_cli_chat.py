"""``localagent chat`` end to end: the real OpenAI client streaming from a local fake of the
chat-completions protocol, the history in the SQLite checkpoint database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from tests.cli_util import use_openai_compatible
from tests.wire import OPENAI

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
LEAKED = "sk-leaked0000000000000000000key"


def echo(request: Request) -> Response:
    """Answers ``echo: <last user message>``, streamed (SSE) when the client asks."""
    body = json.loads(request.get_data())
    last = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    return OPENAI.reply(f"echo: {last}")(request)


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    use_openai_compatible(httpserver.url_for("/v1"), "some-model")
    return httpserver


def chat(*args: str, input: str) -> tuple[int, str, str]:
    from localagent.cli.app import app

    result = runner.invoke(app, ["chat", *args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def requests(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def conversation(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in body["messages"] if m["role"] != "system"]


def thread_of(err: str) -> str:
    found = re.search(r"thread ([0-9a-f]{32})", err)
    assert found, err
    return found.group(1)


def chat_threads() -> list[dict[str, Any]]:
    from localagent.checkpoints import latest_threads, open_saver
    from localagent.config.loader import load_settings

    async def listing() -> list[dict[str, Any]]:
        async with open_saver(load_settings()) as saver:
            return await latest_threads(saver, graph="chat")

    return asyncio.run(listing())


def test_a_turn_streams_and_slash_commands_do_not_call_the_model(
        server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    (tmp_path / "taken").write_text("a file, not a directory")
    code, out, err = chat(input="/save\nhello there\n/help\n/bogus\n/save taken/x.md\n/save\n")
    assert code == 0, err
    assert out == "echo: hello there\n"
    [body] = requests(server)  # one model call: the slash commands made none
    assert body["stream"] is True and body["model"] == "some-model"
    assert body["messages"][0]["role"] == "system"
    assert conversation(body) == [("user", "hello there")]
    assert "/save [FILE]" in err and "/model [SPEC]" in err
    assert "unknown command /bogus" in err
    assert "nothing to save yet" in err  # /save before the first turn
    assert f"could not write {tmp_path / 'taken' / 'x.md'}" in err
    thread = thread_of(err)
    saved = (tmp_path / f"chat-{thread}.md").read_text()
    assert saved == (f"# hello there\n\nThread `{thread}`\n\n## You\n\nhello there\n\n"
                     "## Assistant\n\necho: hello there\n")
    assert [(t["thread_id"], t["metadata"]["title"]) for t in chat_threads()] == [
        (thread, "hello there")]


def test_continue_resumes_the_latest_thread(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    code, _, err = chat(input="my name is Ada\n")
    assert code == 0, err
    first = thread_of(err)
    code, out, err = chat("-c", input="what is my name?\n/save notes/chat.md\n")
    assert code == 0, err
    assert out == "echo: what is my name?\n"
    assert f"continuing thread {first} (2 messages)" in err
    assert conversation(requests(server)[-1]) == [
        ("user", "my name is Ada"), ("assistant", "echo: my name is Ada"),
        ("user", "what is my name?")]
    saved = (tmp_path / "notes" / "chat.md").read_text()
    assert saved.startswith("# my name is Ada\n") and saved.count("## You") == 2
    assert [t["thread_id"] for t in chat_threads()] == [first]


def test_clear_starts_a_new_thread(server: HTTPServer) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    code, out, err = chat(input="first\n/clear\nsecond\n")
    assert code == 0, err
    assert out == "echo: first\necho: second\n"
    assert conversation(requests(server)[-1]) == [("user", "second")]
    old, new = thread_of(err), re.search(r"new thread ([0-9a-f]{32})", err)
    assert new and new.group(1) != old
    assert {t["thread_id"] for t in chat_threads()} == {old, new.group(1)}


def test_multi_line_messages(server: HTTPServer) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    text = 'one \\\ntwo\n"""\nblock line\n/help\n"""\n'
    code, _, err = chat(input=text)
    assert code == 0, err
    assert [conversation(b)[-1] for b in requests(server)] == [
        ("user", "one \ntwo"), ("user", "block line\n/help")]
    assert "/model [SPEC]" not in err  # inside a block, /help is text


def test_thread_option_names_a_new_thread_then_comes_back_to_it(server: HTTPServer) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    code, _, err = chat("--thread", "my-topic", input="remember 42\n")
    assert code == 0, err
    assert "thread my-topic ·" in err
    code, _, err = chat("--thread", "my-topic", input="what number?\n")
    assert code == 0 and "continuing thread my-topic (2 messages)" in err
    assert conversation(requests(server)[-1])[0] == ("user", "remember 42")


def test_a_workflow_thread_is_not_taken_over(server: HTTPServer) -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    from localagent.checkpoints import open_saver
    from localagent.config.loader import load_settings

    async def workflow_thread() -> None:
        async with open_saver(load_settings()) as saver:
            await saver.aput({"configurable": {"thread_id": "wf-1", "checkpoint_ns": ""}},
                             empty_checkpoint(), {"graph": "workflow", "step": 0}, {})

    asyncio.run(workflow_thread())
    code, _, err = chat("--thread", "wf-1", input="hello\n")
    assert code == 2 and "thread wf-1 belongs to the workflow" in err
    assert requests(server) == []


def test_long_first_lines_make_a_short_title(server: HTTPServer) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    code, _, err = chat(input="x" * 100 + "\n")
    assert code == 0, err
    assert [t["metadata"]["title"] for t in chat_threads()] == ["x" * 60 + "…"]


def test_model_command_switches_the_provider_for_the_next_turns(server: HTTPServer) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(echo)
    code, _, err = chat(input="/model\none\n/model nosuch:x\n/model openai-compatible:other\n"
                              "two\n")
    assert code == 0, err
    assert "model: openai-compatible:some-model" in err
    assert "unknown provider 'nosuch'" in err and "still using openai-compatible:some-model" in err
    assert [b["model"] for b in requests(server)] == ["some-model", "other"]
    assert conversation(requests(server)[-1])[:2] == [("user", "one"), ("assistant", "echo: one")]


def test_a_failed_turn_keeps_the_repl_alive(server: HTTPServer) -> None:
    calls: list[int] = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response(json.dumps({"error": {"message": f"bad key {LEAKED}",
                                                  "type": "invalid_request_error"}}),
                            status=401, content_type="application/json")
        return echo(request)

    server.expect_request("/v1/chat/completions").respond_with_handler(flaky)
    # the auth error opens that provider's breaker: switch models and go on
    code, out, err = chat(input="lost message\n/model openai-compatible:other\nkept message\n")
    assert code == 4  # piped input: a script learns that a turn failed
    assert "error: every provider failed: openai-compatible:some-model" in err
    assert "[redacted]" in err and LEAKED not in err
    assert "that message was not kept" in err
    assert out == "echo: kept message\n", err
    last = requests(server)[-1]
    assert last["model"] == "other" and conversation(last) == [("user", "kept message")]
    [thread] = chat_threads()
    code, _, err = chat("-c", input="")
    assert code == 0 and f"continuing thread {thread['thread_id']} (2 messages)" in err


def test_continue_without_a_thread_and_bad_options(server: HTTPServer) -> None:
    code, _, err = chat("-c", input="")
    assert code == 1 and "no chat thread to continue" in err
    code, _, err = chat("-c", "--thread", "x", input="")
    assert code == 2 and "do not go together" in err
    code, _, err = chat("--provider", "nosuch:model", input="")
    assert code == 2 and "unknown provider 'nosuch'" in err
    assert requests(server) == []


def test_eof_right_away_exits_cleanly(server: HTTPServer) -> None:
    code, out, err = chat(input="")
    assert code == 0, err
    assert out == "" and "come back with" not in err  # nothing to come back to
    assert chat_threads() == []


@pytest.mark.slow
def test_one_turn_in_a_terminal(server: HTTPServer, tmp_path: Path) -> None:
    """Tokens show up before the answer is complete; Ctrl-C stops a turn, not the chat."""
    released, never = threading.Event(), threading.Event()
    gates = [released, never]  # the first answer is let through, the second never is

    def held_back(request: Request) -> Response:
        gate = gates.pop(0)
        body = json.loads(request.get_data())
        last = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        pieces = OPENAI.encode(OPENAI.events(f"echo: {last}"))

        def stream() -> Iterator[bytes]:
            yield from pieces[:2]
            gate.wait(20)
            yield from pieces[2:]

        return Response(stream(), content_type="text/event-stream")

    server.expect_request("/v1/chat/completions").respond_with_handler(held_back)
    # PYTHONPATH: the child must import graph/ and nodes/ from this checkout from any cwd
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "PYTHONPATH": str(ROOT)}
    child = pexpect.spawn(sys.executable, ["-m", "localagent", "chat"], env=env,
                          cwd=str(tmp_path), encoding="utf-8", timeout=30)
    try:
        child.expect(r"thread ([0-9a-f]{32})")
        thread = child.match.group(1)
        child.expect("you> ")
        child.sendline("hello from a tty")
        child.expect("echo:", timeout=10)  # printed before the answer is complete
        released.set()
        child.expect(" hello from a tty")
        child.expect("you> ")
        child.sendline("a slow one")
        child.expect("echo:", timeout=10)
        child.sendintr()
        child.expect("interrupted")
        child.expect("you> ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        released.set()
        never.set()
    transcript = child.before
    child.close()
    assert child.exitstatus == 0, transcript
    assert f"localagent chat --thread {thread}" in transcript
    assert conversation(requests(server)[0]) == [("user", "hello from a tty")]
    code, _, err = chat("-c", input="")  # the interrupted turn was not kept
    assert code == 0 and f"continuing thread {thread} (2 messages)" in err

"""``localagent chat``: a conversation with the configured model. Answers stream as they
arrive; the history lives in the checkpoint database, so ``-c`` or ``--thread`` come back to it."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.state import fail, info, state
from localagent.cli.threads import valid_thread_id

if TYPE_CHECKING:
    import asyncio

    from langchain_core.runnables import RunnableConfig

    from localagent.config.schema import Settings

HELP = '''commands:
  /help           this list
  /model [SPEC]   show the provider spec, or answer with SPEC from the next turn on
  /clear          start a new thread (the old one stays in the checkpoint database)
  /save [FILE]    write the transcript as markdown (default: chat-<thread>.md)
  /exit, /quit    leave (Ctrl-D too)
a line ending with \\ goes on in the next line; lines between two """ lines are one message'''
FENCE = '"""'
TITLE_LENGTH = 60
ReadLine = Callable[[str], str | None]


def line_reader(tty: bool) -> ReadLine:
    """Lines from the user, None at end of input: ``input()`` with line editing at a
    terminal, plain lines (no prompts) from a pipe."""
    if tty:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (gives input() editing and history)

    def read(prompt: str) -> str | None:
        try:
            line = input(prompt) if tty else sys.stdin.readline()
        except EOFError:
            return None
        return line.rstrip("\r\n") if tty or line else None

    return read


def read_message(read: ReadLine) -> tuple[str, bool] | None:
    """One message and whether it was a literal block (never a command); None at EOF.
    A trailing backslash continues the line; a block sits between two ``\"\"\"`` lines."""
    first = read("you> ")
    if first is None:
        return None
    if first.strip() == FENCE:
        block: list[str] = []
        while (line := read("... ")) is not None and line.strip() != FENCE:
            block.append(line)
        return "\n".join(block), True
    lines = [first]
    while lines[-1].endswith("\\"):
        lines[-1] = lines[-1][:-1]
        more = read("... ")
        if more is None:
            break
        lines.append(more)
    return "\n".join(lines), False


def transcript(messages: list[Any], thread: str, title: str | None) -> str:
    """The conversation as markdown: one section per message."""
    who = {"human": "You", "ai": "Assistant"}
    parts = [f"# {title or 'Chat'}", "", f"Thread `{thread}`", ""]
    for message in messages:
        if message.type in who:
            parts += [f"## {who[message.type]}", "", message.text.strip(), ""]
    return "\n".join(parts)


def check_spec(spec: str, settings: Settings) -> None:
    """Raise ProviderError if ``spec`` names no known provider (keys are checked on use)."""
    from providers.factory import expand_chain
    from providers.registry import get_plugin, parse_spec

    for item in expand_chain(spec, settings.providers_config()):
        get_plugin(parse_spec(item)[0])


class ChatSession:
    """One chat thread at a time over the checkpoint database, within one event loop."""

    def __init__(self, settings: Settings, provider: str | None) -> None:
        self.settings = settings
        self.provider = provider
        self.thread = uuid.uuid4().hex
        self.title: str | None = None
        self.failed = 0
        self._stack = contextlib.AsyncExitStack()
        self._graph: Any = None
        self._line_open = False

    @property
    def spec(self) -> str:
        return self.provider or self.settings.system.default_provider

    @property
    def config(self) -> RunnableConfig:
        metadata = {"graph": "chat", "title": self.title or ""}
        return {"configurable": {"thread_id": self.thread}, "metadata": metadata}

    async def open(self, thread: str | None, resume: bool) -> int:
        """Open the database and pick the thread; the number of messages it already has."""
        from graph.chat import build_chat
        from graph.configured import Configured
        from localagent.checkpoints import latest_threads, open_saver

        saver = await self._stack.enter_async_context(open_saver(self.settings))
        self._graph = build_chat(models=Configured(self.settings).model, checkpointer=saver)
        if resume:
            latest = await latest_threads(saver, graph="chat", limit=1)
            if not latest:
                await self.close()
                fail("no chat thread to continue; start one with 'localagent chat'", 1)
            thread = latest[0]["thread_id"]
        if thread:
            self.thread = thread
            found = await saver.aget_tuple(self.config)
            metadata: dict[str, Any] = dict(found.metadata or {}) if found else {}
            if metadata.get("graph", "chat") != "chat":  # one database holds every thread
                await self.close()
                fail(f"thread {thread} belongs to the {metadata['graph']}, not to a chat; "
                     f"pick another id")
            self.title = metadata.get("title") or None
        return len(await self.messages())

    async def close(self) -> None:
        await self._stack.aclose()

    async def messages(self) -> list[Any]:
        snapshot = await self._graph.aget_state(self.config)
        return list(snapshot.values.get("messages", []))

    def _write(self, text: str) -> None:
        if text:
            typer.echo(text, nl=False)
            self._line_open = not text.endswith("\n")

    def end_line(self) -> None:
        if self._line_open:
            typer.echo("")
            self._line_open = False

    async def turn(self, text: str) -> None:
        """Send ``text``; the answer goes to stdout token by token."""
        from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

        from graph.chat import ChatContext

        if not self.title:
            first = text.strip().splitlines()[0]
            self.title = first if len(first) <= TITLE_LENGTH else f"{first[:TITLE_LENGTH]}…"
        streamed = False
        async for chunk, meta in self._graph.astream(
                {"messages": [HumanMessage(text)]}, self.config,
                context=ChatContext(provider=self.provider), stream_mode="messages",
                durability="sync"):
            if meta.get("langgraph_node") != "chat":
                continue
            if isinstance(chunk, AIMessageChunk):
                streamed = True
                self._write(chunk.text)
            elif isinstance(chunk, AIMessage) and not streamed:  # a model that cannot stream
                self._write(chunk.text)
        self.end_line()

    async def forget_unanswered(self) -> None:
        """Drop the messages of a turn that got no answer, so the next turn starts clean."""
        from langchain_core.messages import AIMessage, RemoveMessage

        messages = await self.messages()
        unanswered: list[Any] = []
        while messages and not isinstance(messages[-1], AIMessage):
            unanswered.append(messages.pop())
        if unanswered:
            await self._graph.aupdate_state(
                self.config, {"messages": [RemoveMessage(id=m.id) for m in unanswered]},
                as_node="chat")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _command(runner: asyncio.Runner, session: ChatSession, line: str, cwd: Path) -> bool:
    """Run a slash command; False means leave."""
    from localagent.redact import scrub

    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/exit", "/quit"):
        return False
    if name == "/help":
        _say(HELP)
    elif name == "/model" and not arg:
        _say(f"model: {session.spec}")
    elif name == "/model":
        from providers.errors import ProviderError

        try:
            check_spec(arg, session.settings)
        except ProviderError as exc:
            _say(f"error: {scrub(str(exc))}; still using {session.spec}")
        else:
            session.provider = arg
            _say(f"model: {arg} (from the next turn on)")
    elif name == "/clear":
        session.thread, session.title = uuid.uuid4().hex, None
        if sys.stdout.isatty():
            import click

            click.clear()
        _say(f"new thread {session.thread}")
    elif name == "/save":
        from localagent.atomic import atomic_write

        messages = runner.run(session.messages())
        if not messages:
            _say("nothing to save yet")
            return True
        target = cwd / Path(arg or f"chat-{session.thread}.md").expanduser()
        try:
            atomic_write(target, transcript(messages, session.thread, session.title))
        except OSError as exc:
            _say(f"error: could not write {target}: {exc.strerror or exc}")
            return True
        _say(f"saved {len(messages)} messages to {target}")
    else:
        _say(f"unknown command {name}; /help lists the commands "
             f"(to send it as a message, put it between two {FENCE} lines)")
    return True


def _turn(runner: asyncio.Runner, session: ChatSession, text: str) -> None:
    from localagent.redact import scrub
    from providers.errors import ProviderError

    try:
        runner.run(session.turn(text))
        return
    except KeyboardInterrupt:
        session.end_line()
        _say("interrupted")
    except ProviderError as exc:
        session.end_line()
        session.failed += 1
        _say(f"error: {scrub(str(exc))}")
    runner.run(session.forget_unanswered())
    _say("that message was not kept: send it again, or pick a model with /model SPEC")


def _repl(runner: asyncio.Runner, session: ChatSession, read: ReadLine, cwd: Path) -> None:
    while True:
        try:
            got = read_message(read)
        except KeyboardInterrupt:
            _say("\n(Ctrl-D or /exit leaves)")
            continue
        if got is None:
            return
        text, literal = got
        if not text.strip():
            continue
        if not literal and text.startswith("/") and "\n" not in text:
            if not _command(runner, session, text.strip(), cwd):
                return
            continue
        _turn(runner, session, text)


def chat(ctx: typer.Context,
         thread: str = typer.Option(None, "--thread", callback=valid_thread_id,
                                    help="come back to this thread (a new one with this id "
                                    "if it does not exist)"),
         resume: bool = typer.Option(False, "--continue", "-c",
                                     help="continue the most recent chat thread"),
         ) -> None:
    """Chat with the model: answers stream, history is kept per thread. Type /help inside.

    Reads lines from stdin until EOF when it is not a terminal (exit 4 if a turn failed)."""
    import asyncio

    from providers.errors import ProviderError

    if thread and resume:
        fail("--thread and --continue do not go together: pick one")
    st = state(ctx)
    provider = st.provider  # --provider: this chat's provider (default: the configured one)
    settings = st.load().settings
    try:
        check_spec(provider or settings.system.default_provider, settings)
    except ProviderError as exc:
        fail(str(exc))
    session = ChatSession(settings, provider)
    tty = sys.stdin.isatty()
    with asyncio.Runner() as runner:
        known = runner.run(session.open(thread, resume))
        try:
            what = f"continuing thread {session.thread} ({known} messages)" if known else \
                f"thread {session.thread}"
            info(ctx, f"{what} · model {session.spec} · /help for commands")
            _repl(runner, session, line_reader(tty), st.cwd)
            if runner.run(session.messages()):
                info(ctx, f"come back with: localagent chat --thread {session.thread}")
        finally:
            runner.run(session.close())
    if session.failed and not tty:
        raise typer.Exit(4)

"""``localagent workflow run | resume | status | list | show | report``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.conduct import interactive
from localagent.cli.state import fail, run_async, state
from localagent.cli.threads import valid_thread_id

if TYPE_CHECKING:
    from localagent.config.schema import Settings
    from localagent.workflow.driver import Outcome

app = typer.Typer(help="Run the phase workflow on a codebase, resume it, inspect threads.",
                  no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    return state(ctx).load().settings


def _phases(text: str | None) -> list[int] | None:
    from graph.phases import numbering, unknown_numbers

    if text is None:
        return None
    try:
        phases = sorted({int(p) for p in text.replace(" ", "").split(",") if p})
    except ValueError:
        fail(f"--phases: {text!r} is not a comma-separated list of numbers {numbering()}")
    if not phases or unknown_numbers(phases):
        first, _, last = numbering(named=True).partition(" .. ")
        fail(f"--phases: {text!r} must list phases between {first} and {last}")
    return phases


def _spec(settings: Settings, provider: str | None, model: str | None) -> str | None:
    if not model:
        return provider
    base = provider or (settings.default_chain() or ["local"])[0]
    if "," in base or base in settings.chains:
        fail(f"--model needs a single provider, not the chain {base!r}: add --provider NAME")
    return f"{base.split(':', 1)[0]}:{model}"


def _resume_hint(ctx: typer.Context, thread: str) -> str:
    """The resume command, with the global options that find this thread's configuration
    (the run's own settings are kept with the thread)."""
    import shlex

    from localagent.workflow.driver import resume_command

    app_state = state(ctx)
    options = []
    if app_state.config_file is not None:
        options += ["--config", shlex.quote(str(app_state.config_file))]
    if app_state.working_dir is not None:
        options += ["-C", shlex.quote(str(app_state.working_dir))]
    return resume_command(thread, " ".join(options))


def _conduct(ctx: typer.Context, settings: Settings, thread: str, payload: Any,
             context: Any, stream: bool,
             before: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
    from localagent.cli.conduct import conduct
    from localagent.cli.stopping import run_stoppable

    if before is not None:
        try:
            run_stoppable(before())
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
    outcome, phases = conduct(ctx, settings, thread, payload, context, stream=stream,
                              resume=_resume_hint(ctx, thread))
    _finish(ctx, outcome, phases, stream=stream)


def _finish(ctx: typer.Context, outcome: Outcome, phases: dict[str, Any],
            stream: bool = False) -> None:
    from localagent.cli.ask import describe
    from localagent.cli.output import emit

    app_state = state(ctx)
    doc = outcome.summary(phases)
    if stream and app_state.format == "json":  # the last of the JSON lines
        import json

        from localagent.redact import scrub_data

        typer.echo(json.dumps(scrub_data(doc), default=str))
    elif app_state.format != "rich":
        emit(doc, app_state.format)
    elif app_state.quiet:
        if doc["report"]:
            typer.echo(doc["report"])
    else:
        _print_summary(doc)
    if app_state.format == "rich":
        if outcome.status == "stopped":
            typer.echo(f"stopped at the last checkpoint; resume with:\n  {outcome.resume}",
                       err=True)
        elif outcome.interrupt is not None:
            typer.echo(describe(outcome.interrupt), err=True)
            typer.echo(f"resume with: {outcome.resume} (--yes to approve, --answer TEXT to "
                       "answer)", err=True)
    raise typer.Exit(outcome.exit_code)


def _print_summary(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape

    colour = {0: "green", 3: "yellow"}.get(doc["exit_code"], "red")
    use = doc["usage"]
    lines = [f"[bold {colour}]{doc['status']}[/]  thread {doc['thread_id']}"]
    if doc.get("error"):
        lines.append(f"[red]{escape(doc['error'])}[/]")
    if doc["applied"]:
        lines.append("changed: " + ", ".join(escape(p) for p in doc["applied"]))
    if doc["checks_passed"] is not None:
        lines.append("checks: " + ("[green]pass[/]" if doc["checks_passed"] else "[red]fail[/]"))
    lines.append(f"{doc['activity']['model_calls']} model calls, {use['input_tokens']} in / "
                 f"{use['output_tokens']} out tokens, ${use['cost']:.4f}")
    if doc["report"]:
        lines.append(f"report: {escape(doc['report'])}")
    Console().print("\n".join(lines))


def _context(settings: Settings, *, spec: str | None, yes: bool | None,
             max_parallel: int | None, max_iterations: int | None,
             phases: list[int] | None, max_steps: int | None,
             base: dict[str, Any] | None = None) -> Any:
    from graph.context import WorkflowContext

    values: dict[str, Any] = dict(base or {})
    for key, value in (("provider", spec), ("max_parallel_agents", max_parallel),
                       ("max_iterations", max_iterations), ("phases", phases),
                       ("agent_step_limit", max_steps)):
        if value is not None:
            values[key] = value
    if yes:
        values["auto_approve"] = True
    known = WorkflowContext.__dataclass_fields__
    return WorkflowContext.from_settings(settings.workflow,
                                         **{k: v for k, v in values.items() if k in known})


def _check_stream(ctx: typer.Context, stream: bool) -> None:
    """--stream prints JSON lines: it implies --format json, and refuses another format."""
    app_state = state(ctx)
    if not stream:
        return
    if app_state.format_given and app_state.format != "json":
        fail(f"--stream prints JSON lines, not {app_state.format}: use --format json "
             "or leave --format out")
    app_state.format = "json"


def _request_text(request: str | None, file: Path | None) -> str:
    """The request from the argument, --file FILE, or stdin (``-``)."""
    if request is not None and file is not None:
        fail("give the request as an argument or with --file, not both")
    if file is not None and str(file) != "-":
        if not file.is_file():
            fail(f"--file: {file}: no such file")
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--file: cannot read {file}: {exc}")
    elif file is not None or request == "-":
        if sys.stdin.isatty():
            fail("'-' reads the request from stdin, but stdin is a terminal: pipe it in "
                 "(localagent - < task.md) or use --file FILE")
        text = sys.stdin.read()
    elif request is None:
        fail('say what to do: localagent "fix the failing test", --file FILE, or - to read '
             "the request from stdin")
    else:
        text = request
    if not text.strip():
        fail('the request is empty: say what to do, e.g. localagent "fix the failing test"')
    return text


MAX_PARALLEL = typer.Option(None, "--max-parallel", min=1, max=64, metavar="N",
                            help="agents working at a time")
MAX_ITERATIONS = typer.Option(None, "--max-iterations", min=0, max=10, metavar="N",
                              help="validate -> research loops")
MAX_STEPS = typer.Option(None, "--max-steps", min=1, max=100, metavar="N",
                         help="tool calls per agent branch")
PHASES = typer.Option(None, "--phases", metavar="LIST",
                      help="phases to run, e.g. 0,1,2,4 (default: all)")
MODEL = typer.Option(None, "--model", help="model for the provider (--provider NAME, or the "
                     "first of the chain)")
STREAM = typer.Option(False, "--stream", help="progress as JSON lines, then the summary "
                      "(implies --format json)")


@app.command("run")
def run(ctx: typer.Context,
        request: str = typer.Argument(None, help="what to do, in plain words ('-': read it "
                                      "from stdin)"),
        file: Path = typer.Option(None, "--file", "-f", help="read the request from this file "
                                  "('-': stdin)"),
        workspace: Path = typer.Option(None, "--workspace", "-w",
                                       help="the codebase (default: the working directory)"),
        model: str = MODEL,
        yes: bool = typer.Option(False, "--yes", "-y", help="approve scope and changes"),
        max_parallel: int = MAX_PARALLEL, max_iterations: int = MAX_ITERATIONS,
        max_steps: int = MAX_STEPS, phases: str = PHASES,
        thread: str = typer.Option(None, "--thread", callback=valid_thread_id,
                                   help="thread id (default: new)"),
        stream: bool = STREAM,
        ) -> None:
    """Run the workflow on a request (also: localagent "request")."""
    text = _request_text(request, file)
    _check_stream(ctx, stream)
    root = (workspace or state(ctx).cwd).expanduser()
    if not root.is_dir():
        fail(f"--workspace: {root} is not a directory")
    settings = _settings(ctx)
    if len(text) > settings.security.max_message_chars:
        fail(f"the request is {len(text)} characters; security.max_message_chars is "
             f"{settings.security.max_message_chars}: shorten it or raise the limit")
    # the chain is fixed when the run starts, so a resume continues on the same providers
    spec = _spec(settings, state(ctx).provider, model) or settings.system.default_provider
    context = _context(settings, spec=spec, yes=yes, max_parallel=max_parallel,
                       max_iterations=max_iterations, phases=_phases(phases),
                       max_steps=max_steps)
    import uuid

    thread_id = thread or uuid.uuid4().hex[:12]
    payload = {"request": text, "workspace": str(root.resolve())}

    async def check() -> None:
        if thread and await _exists(settings, thread):
            fail(f"--thread: {thread} already exists; resume it with "
                 f"`localagent workflow resume {thread}` or pick another id")
        if not state(ctx).quiet and state(ctx).format == "rich":
            typer.echo(f"thread {thread_id}", err=True)

    _conduct(ctx, settings, thread_id, payload, context, stream, before=check)


async def _exists(settings: Settings, thread: str) -> bool:
    from localagent.checkpoints import open_saver

    async with open_saver(settings) as saver:
        return await saver.aget_tuple({"configurable": {"thread_id": thread}}) is not None


@app.command("resume")
def resume(ctx: typer.Context,
           thread: str = typer.Argument(None, callback=valid_thread_id,
                                        help="thread id (default: the latest)"),
           yes: bool = typer.Option(False, "--yes", "-y", help="approve what is pending "
                                    "(and what comes next)"),
           answer: str = typer.Option(None, "--answer", help="answer the pending question: "
                                      "yes, no, or feedback text"),
           model: str = MODEL,
           max_parallel: int = MAX_PARALLEL, max_iterations: int = MAX_ITERATIONS,
           max_steps: int = MAX_STEPS, phases: str = PHASES,
           stream: bool = STREAM,
           ) -> None:
    """Continue a stopped or waiting thread with the settings it was started with;
    --provider, --model and the limits given here replace them."""
    from localagent.cli import threads
    from localagent.workflow.driver import thread_status
    from localagent.workflow.threads import saved_context

    _check_stream(ctx, stream)
    settings = _settings(ctx)
    thread_id, snapshot, metadata = run_async(threads.find(settings, thread))
    status = thread_status(snapshot)
    if status in ("done", "rejected", "cancelled"):
        fail(f"thread {thread_id} has finished ({status}); see `localagent workflow report "
             f"{thread_id}`", code=1)
    saved = saved_context(metadata)
    spec = _spec(settings, state(ctx).provider or saved.get("provider"), model)
    _say_provider(ctx, thread_id, saved, spec)
    context = _context(settings, spec=spec, yes=yes, max_parallel=max_parallel,
                       max_iterations=max_iterations, phases=_phases(phases),
                       max_steps=max_steps, base=saved)
    payload: Any = None
    if snapshot.interrupts:
        from langgraph.types import Command

        if answer is not None:
            payload = Command(resume=answer)
        elif yes:
            payload = Command(resume=True)
        elif not interactive(context):
            fail(f"thread {thread_id} is waiting for an answer: pass --yes or --answer TEXT",
                 code=3)
    _conduct(ctx, settings, thread_id, payload, context, stream)


def _say_provider(ctx: typer.Context, thread: str, saved: dict[str, Any],
                  spec: str | None) -> None:
    """A note when resume runs on other providers than the thread started with."""
    from localagent.cli.state import info

    before = saved.get("provider")
    if not saved:
        info(ctx, f"note: thread {thread} kept no run settings (it predates them); resuming "
                  f"with the configured ones{f' on {spec}' if spec else ''}")
    elif spec != before:
        info(ctx, f"note: thread {thread} ran on {before or 'the default chain'}; resuming "
                  f"on {spec} as asked")


def _register_inspection() -> None:
    from localagent.cli import threads

    app.command("status")(threads.status)
    app.command("list")(threads.list_threads)
    app.command("show")(threads.show)
    app.command("report")(threads.report)


_register_inspection()

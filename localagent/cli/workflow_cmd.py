"""``localagent workflow run | resume | status | list | show | report``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from localagent.cli.state import fail, run_async, state

if TYPE_CHECKING:
    from localagent.cli.driver import Outcome
    from localagent.config.schema import Settings

app = typer.Typer(help="Run the phase workflow on a codebase, resume it, inspect threads.",
                  no_args_is_help=True)
T = TypeVar("T")


def _settings(ctx: typer.Context) -> Settings:
    from graph.context import use_settings

    settings = state(ctx).load().settings
    use_settings(settings)  # the graph's nodes read the same configuration
    return settings


def _phases(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        phases = sorted({int(p) for p in text.replace(" ", "").split(",") if p})
    except ValueError:
        fail(f"--phases: {text!r} is not a comma-separated list of numbers 0..9")
    if not phases or any(p < 0 or p > 9 for p in phases):
        fail(f"--phases: {text!r} must list phases between 0 (scope) and 9 (readiness)")
    return phases


def _spec(settings: Settings, provider: str | None, model: str | None) -> str | None:
    if not model:
        return provider
    base = provider or (settings.default_chain() or ["local"])[0]
    if "," in base or base in settings.chains:
        fail(f"--model needs a single provider, not the chain {base!r}: add --provider NAME")
    return f"{base.split(':', 1)[0]}:{model}"


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _run_async(ctx: typer.Context, thread: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from localagent.cli.driver import resume_command

    try:
        return run_async(work())
    except KeyboardInterrupt:
        typer.echo(f"\nstopped at the last checkpoint; resume with:\n  {resume_command(thread)}",
                   err=True)
        raise typer.Exit(130) from None


async def _drive(ctx: typer.Context, settings: Settings, thread: str, payload: Any,
                 context: Any, stream: bool) -> tuple[Outcome, dict[str, Any]]:
    from dataclasses import asdict

    from graph.workflow import build_workflow
    from localagent.checkpoints import open_saver
    from localagent.cli.ask import ask
    from localagent.cli.driver import drive
    from localagent.cli.progress_view import make_view

    app_state = state(ctx)
    view = make_view(app_state.format, quiet=app_state.quiet, stream=stream,
                     tty=sys.stderr.isatty())
    interactive = _interactive() and not context.auto_approve
    async with open_saver(settings) as saver:
        graph = build_workflow(checkpointer=saver)
        if isinstance(payload, dict):
            request = payload["request"]
        else:
            values = (await graph.aget_state({"configurable": {"thread_id": thread}})).values
            request = (values or {}).get("request", "")
        metadata = {"graph": "workflow", "context": asdict(context), "request": request[:200]}
        config = {"configurable": {"thread_id": thread}, "metadata": metadata}
        outcome = await drive(graph, payload, config, context, view,
                              ask if interactive else None)
    return outcome, view.tracker.phases


def _finish(ctx: typer.Context, outcome: Outcome, phases: dict[str, Any],
            stream: bool = False) -> None:
    from localagent.cli.ask import describe
    from localagent.cli.driver import resume_command
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
    if outcome.interrupt is not None and app_state.format == "rich":
        typer.echo(describe(outcome.interrupt), err=True)
        typer.echo(f"resume with: {resume_command(outcome.thread_id)} (--yes to approve, "
                   "--answer TEXT to answer)", err=True)
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
    lines.append(f"{doc['evidence']['model_calls']} model calls, {use['input_tokens']} in / "
                 f"{use['output_tokens']} out tokens, ${use['cost']:.4f}")
    if doc["report"]:
        lines.append(f"report: {escape(doc['report'])}")
    Console().print("\n".join(lines))


def _context(settings: Settings, *, spec: str | None, yes: bool | None,
             max_parallel: int | None, max_iterations: int | None,
             phases: list[int] | None, base: dict[str, Any] | None = None,
             max_steps: int | None = None) -> Any:
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
    return WorkflowContext(**{k: v for k, v in values.items() if k in known})


@app.command("run")
def run(ctx: typer.Context,
        request: str = typer.Argument(..., help="what to do, in plain words"),
        workspace: Path = typer.Option(None, "--workspace", "-w",
                                       help="the codebase (default: the working directory)"),
        model: str = typer.Option(None, "--model", help="model for the provider"),
        yes: bool = typer.Option(False, "--yes", "-y", help="approve scope and changes"),
        max_parallel: int = typer.Option(None, "--max-parallel", min=1, max=64, metavar="N",
                                         help="agents working at a time"),
        max_iterations: int = typer.Option(None, "--max-iterations", min=0, max=10,
                                           metavar="N", help="validate -> research loops"),
        max_steps: int = typer.Option(None, "--max-steps", min=1, max=100, metavar="N",
                                      help="tool calls per agent branch"),
        phases: str = typer.Option(None, "--phases", help="e.g. 0,1,2,4 (default: all)"),
        thread: str = typer.Option(None, "--thread", help="thread id (default: new)"),
        stream: bool = typer.Option(False, "--stream", help="with --format json: JSON lines"),
        ) -> None:
    """Run the workflow on a request (also: localagent "request")."""
    if not request.strip():
        fail("the request is empty: say what to do, e.g. localagent \"fix the failing test\"")
    root = (workspace or state(ctx).cwd).expanduser()
    if not root.is_dir():
        fail(f"--workspace: {root} is not a directory")
    settings = _settings(ctx)
    context = _context(settings, spec=_spec(settings, state(ctx).provider, model), yes=yes,
                       max_parallel=max_parallel, max_iterations=max_iterations,
                       phases=_phases(phases), max_steps=max_steps)
    import uuid

    thread_id = thread or uuid.uuid4().hex[:12]
    payload = {"request": request, "workspace": str(root.resolve())}

    async def work() -> tuple[Outcome, dict[str, Any]]:
        if thread and await _exists(settings, thread):
            fail(f"--thread: {thread} already exists; resume it with "
                 f"`localagent workflow resume {thread}` or pick another id")
        if not state(ctx).quiet and state(ctx).format == "rich":
            typer.echo(f"thread {thread_id}", err=True)
        return await _drive(ctx, settings, thread_id, payload, context, stream)

    _finish(ctx, *_run_async(ctx, thread_id, work), stream=stream)


async def _exists(settings: Settings, thread: str) -> bool:
    from localagent.checkpoints import open_saver

    async with open_saver(settings) as saver:
        return await saver.aget_tuple({"configurable": {"thread_id": thread}}) is not None


@app.command("resume")
def resume(ctx: typer.Context,
           thread: str = typer.Argument(None, help="thread id (default: the latest)"),
           yes: bool = typer.Option(False, "--yes", "-y", help="approve what is pending"),
           answer: str = typer.Option(None, "--answer", help="answer the pending question: "
                                      "yes, no, or feedback text"),
           stream: bool = typer.Option(False, "--stream", help="with --format json: JSON lines"),
           ) -> None:
    """Continue a stopped or waiting thread."""
    from localagent.cli import threads

    settings = _settings(ctx)
    thread_id, snapshot, metadata = run_async(threads.find(settings, thread))
    from localagent.cli.driver import thread_status

    status = thread_status(snapshot)
    if status in ("done", "rejected", "cancelled"):
        fail(f"thread {thread_id} has finished ({status}); see `localagent workflow report "
             f"{thread_id}`", code=1)
    context = _context(settings, spec=None, yes=yes, max_parallel=None, max_iterations=None,
                       phases=None, base=metadata.get("context"))
    payload: Any = None
    if snapshot.interrupts:
        from langgraph.types import Command

        if answer is not None:
            payload = Command(resume=answer)
        elif yes:
            payload = Command(resume=True)
        elif not _interactive():
            fail(f"thread {thread_id} is waiting for an answer: pass --yes or --answer TEXT",
                 code=3)

    async def work() -> tuple[Outcome, dict[str, Any]]:
        return await _drive(ctx, settings, thread_id, payload, context, stream)

    _finish(ctx, *_run_async(ctx, thread_id, work), stream=stream)


def _register_inspection() -> None:
    from localagent.cli import threads

    app.command("status")(threads.status)
    app.command("list")(threads.list_threads)
    app.command("show")(threads.show)
    app.command("report")(threads.report)


_register_inspection()

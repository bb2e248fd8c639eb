"""Inspecting workflow threads in the checkpoint database: status, list, show, report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.state import fail, run_async, state
from localagent.workflow.threads import brief

if TYPE_CHECKING:
    from localagent.config.schema import Settings

def valid_thread_id(value: str | None) -> str | None:
    """A thread id made of letters, digits, '.', '_' and '-' (no path tricks)."""
    from localagent.paths import is_thread_id

    if value is not None and not is_thread_id(value):
        raise typer.BadParameter(f"{value!r} is not a thread id: use letters, digits, '.', "
                                 "'_' and '-' (up to 128, starting with a letter or digit)")
    return value


THREAD = typer.Argument(..., help="thread id", callback=valid_thread_id)


async def find(settings: Settings, thread: str | None) -> tuple[str, Any, dict[str, Any]]:
    """(thread id, state snapshot, run metadata) of ``thread`` or the latest workflow thread;
    a missing thread exits 2 with what there is instead."""
    from localagent.checkpoints import describe, latest_threads, open_saver
    from localagent.workflow.threads import ThreadNotFound, load

    async with open_saver(settings) as saver:
        if thread is None:
            latest = await latest_threads(saver, graph="workflow", limit=1)
            if not latest:
                fail("no workflow threads yet: start one with localagent workflow run \"...\"")
            thread = str(latest[0]["thread_id"])
        try:
            snapshot, metadata = await load(saver, thread)
        except ThreadNotFound:
            fail(f"no thread {thread!r} in {describe(settings)}: see `localagent workflow list`")
        return thread, snapshot, metadata


def _load(ctx: typer.Context, thread: str | None) -> tuple[str, Any, dict[str, Any]]:
    settings = state(ctx).load().settings
    return run_async(find(settings, thread))


def status(ctx: typer.Context, thread: str = THREAD) -> None:
    """Where a thread stands: status, next nodes, pending question."""
    from localagent.cli.output import emit

    emit(brief(*_load(ctx, thread)), state(ctx).format)


def list_threads(ctx: typer.Context,
                 limit: int = typer.Option(20, "--limit", "-n", min=1, help="how many")) -> None:
    """Workflow threads, newest first."""
    from localagent.cli.output import table

    async def collect() -> list[dict[str, Any]]:
        from localagent.checkpoints import open_saver
        from localagent.workflow.driver import thread_status
        from localagent.workflow.threads import latest

        settings = state(ctx).load().settings
        async with open_saver(settings) as saver:
            return [{"thread": item["thread_id"], "status": thread_status(snapshot),
                     "request": str(item["metadata"].get("request", ""))[:60],
                     "workspace": (snapshot.values or {}).get("workspace", ""),
                     "updated": item["ts"][:19].replace("T", " ")}
                    for item, snapshot in await latest(saver, limit)]

    rows = run_async(collect())
    if not rows and state(ctx).format == "rich":
        typer.echo("no workflow threads yet", err=True)
        return
    table(rows, ["thread", "status", "request", "workspace", "updated"], state(ctx).format,
          title="workflow threads")


def show(ctx: typer.Context, thread: str = THREAD,
         history: int = typer.Option(20, "--history", help="checkpoints of history to show"),
         ) -> None:
    """A thread's state, pending questions and checkpoint history."""
    from localagent.cli.output import emit

    thread_id, snapshot, metadata = _load(ctx, thread)
    values = snapshot.values or {}
    doc = brief(thread_id, snapshot, metadata)
    doc["state"] = {
        "scope": values.get("scope"),
        "plan": [{k: s.get(k) for k in ("id", "role", "focus", "depends_on")}
                 for s in (values.get("plan") or {}).get("streams", [])],
        "branches": [{k: r.get(k) for k in ("phase", "stream", "status", "error")}
                     for r in [*(values.get("research") or []),
                               *(values.get("execute_results") or [])]],
        "changes": [f["path"] for f in (values.get("changes") or {}).get("files", [])],
        "applied": values.get("applied"), "validation": _checks(values.get("validation")),
        "audit": values.get("audit"), "readiness": values.get("readiness"),
        "activity_items": len(values.get("activity") or [])}
    from localagent.workflow.threads import saved_context

    doc["settings"] = saved_context(metadata)  # what a resume runs with
    doc["pending"] = [i.value for i in snapshot.interrupts]
    doc["history"] = run_async(_history(ctx, thread_id, history))
    emit(doc, state(ctx).format)


def _checks(validation: dict[str, Any] | None) -> dict[str, Any] | None:
    if not validation:
        return None
    return {"passed": validation.get("passed"),
            "checks": [{"command": c.get("command"), "exit_code": c.get("exit_code")}
                       for c in validation.get("checks", [])]}


async def _history(ctx: typer.Context, thread: str, limit: int) -> list[dict[str, Any]]:
    from graph.workflow import build_workflow
    from localagent.checkpoints import open_saver

    async with open_saver(state(ctx).load().settings) as saver:
        graph = build_workflow(checkpointer=saver)
        steps = []
        async for snap in graph.aget_state_history({"configurable": {"thread_id": thread}},
                                                   limit=limit):
            steps.append({"step": (snap.metadata or {}).get("step"),
                          "source": (snap.metadata or {}).get("source"),
                          "next": list(snap.next), "at": snap.created_at,
                          "checkpoint_id": snap.config["configurable"].get("checkpoint_id")})
        return steps


def report(ctx: typer.Context, thread: str = THREAD) -> None:
    """Print a thread's run report (markdown; JSON with --format json)."""
    thread_id, snapshot, _ = _load(ctx, thread)
    from localagent.workflow.threads import report_file

    fmt = state(ctx).format
    try:
        path = report_file(thread_id, snapshot.values or {}, fmt)
    except LookupError as exc:
        fail(str(exc), code=1)
    text = path.read_text(encoding="utf-8")
    if fmt == "yaml":
        from localagent.cli.output import emit

        emit(json.loads(text), "yaml")
    elif fmt == "rich" and not state(ctx).quiet and _tty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        typer.echo(text.rstrip("\n"))


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()

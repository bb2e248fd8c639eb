"""Conducting a workflow run from the terminal: legs of graph execution in a stoppable event
loop, the human questions asked between legs (outside the loop, so that the first Ctrl-C
at a question stops at once), and the run's settings kept with the thread for resume."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.state import state

if TYPE_CHECKING:
    from graph.context import WorkflowContext
    from localagent.cli.driver import Outcome
    from localagent.cli.progress_view import View
    from localagent.config.schema import Settings

# Checkpoint metadata keeps only str/int/float/bool values: the run's WorkflowContext goes
# there as one JSON string, written with every checkpoint of every run and resume.
CONTEXT_KEY = "run_context"


def context_metadata(context: WorkflowContext) -> str:
    return json.dumps(asdict(context), sort_keys=True)


def saved_context(metadata: dict[str, Any]) -> dict[str, Any]:
    """The settings a thread ran with ({} for a thread from before they were kept)."""
    try:
        saved = json.loads(str(metadata.get(CONTEXT_KEY) or "{}"))
    except ValueError:
        return {}
    return saved if isinstance(saved, dict) else {}


def interactive(context: WorkflowContext) -> bool:
    """Questions are asked only at a terminal, and only when not approved in advance."""
    return sys.stdin.isatty() and sys.stderr.isatty() and not context.auto_approve


def conduct(ctx: typer.Context, settings: Settings, thread: str, payload: Any,
            context: WorkflowContext, *, stream: bool, resume: str) -> tuple[Outcome, Any]:
    """Run the thread until it ends, waits headless, fails or is stopped; at a terminal,
    answer its questions in between. Returns the outcome and the per-phase timings."""
    from langgraph.types import Command

    from localagent.cli.ask import ask
    from localagent.cli.driver import Outcome
    from localagent.cli.progress_view import make_view
    from localagent.cli.stopping import run_stoppable

    app_state = state(ctx)
    view = make_view(app_state.format, quiet=app_state.quiet, stream=stream,
                     tty=sys.stderr.isatty())
    while True:
        try:
            outcome = run_stoppable(_leg(settings, thread, payload, context, view))
        except KeyboardInterrupt:  # stopped before the thread could say where it was
            outcome = Outcome(thread, "stopped")
        outcome.resume = resume
        if outcome.status != "waiting" or not interactive(context):
            return outcome, view.tracker.phases
        question = outcome.interrupt or {}
        try:
            answer = ask(question)
        except (KeyboardInterrupt, typer.Abort):  # Ctrl-C (or end of input) at the question
            typer.echo("", err=True)
            return (Outcome(thread, "stopped", outcome.values, interrupt=question,
                            resume=resume), view.tracker.phases)
        payload = Command(resume=answer)


async def _leg(settings: Settings, thread: str, payload: Any, context: WorkflowContext,
               view: View) -> Outcome:
    import asyncio

    from graph.configured import factories
    from graph.workflow import build_workflow
    from localagent.checkpoints import open_saver
    from localagent.cli.driver import Outcome, drive

    async with open_saver(settings) as saver:
        graph = build_workflow(checkpointer=saver, **factories(settings))
        config: dict[str, Any] = {"configurable": {"thread_id": thread}}
        if isinstance(payload, dict):
            request = payload["request"]
        else:
            request = ((await graph.aget_state(config)).values or {}).get("request", "")
        config["metadata"] = {"graph": "workflow", "request": request[:200],
                              CONTEXT_KEY: context_metadata(context)}
        try:
            return await drive(graph, payload, config, context, view)
        except asyncio.CancelledError:  # Ctrl-C: the thread stopped at its last checkpoint
            values = (await graph.aget_state(config)).values or {}
            return Outcome(thread, "stopped", dict(values))

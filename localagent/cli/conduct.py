"""Conducting a workflow run from the terminal: legs of graph execution in a stoppable event
loop, the human questions asked between legs (outside the loop, so that the first Ctrl-C
at a question stops at once)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from localagent.cli.state import state

if TYPE_CHECKING:
    from graph.context import WorkflowContext
    from localagent.config.schema import Settings
    from localagent.workflow.driver import Outcome

def interactive(context: WorkflowContext) -> bool:
    """Questions are asked only at a terminal, and only when not approved in advance."""
    return sys.stdin.isatty() and sys.stderr.isatty() and not context.auto_approve


def conduct(ctx: typer.Context, settings: Settings, thread: str, payload: Any,
            context: WorkflowContext, *, stream: bool, resume: str) -> tuple[Outcome, Any]:
    """Run the thread until it ends, waits headless, fails or is stopped; at a terminal,
    answer its questions in between. Returns the outcome and the per-phase timings."""
    from langgraph.types import Command

    from localagent.cli.ask import ask
    from localagent.cli.progress_view import make_view
    from localagent.cli.stopping import run_stoppable
    from localagent.workflow.driver import Outcome
    from localagent.workflow.threads import run_leg

    app_state = state(ctx)
    view = make_view(app_state.format, quiet=app_state.quiet, stream=stream,
                     tty=sys.stderr.isatty())
    while True:
        try:
            outcome = run_stoppable(run_leg(settings, thread, payload, context, view))
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

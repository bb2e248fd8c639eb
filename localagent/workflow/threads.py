"""Workflow threads in the checkpoint database, for the CLI and the server alike: one leg of
a run (with its settings kept for resume), a thread's brief, the list, the report file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from graph.context import WorkflowContext
    from localagent.config.schema import Settings
    from localagent.workflow.driver import Outcome
    from localagent.workflow.progress import View

# Checkpoint metadata keeps only str/int/float/bool values: the run's WorkflowContext goes
# there as one JSON string, written with every checkpoint of every run and resume.
CONTEXT_KEY = "run_context"
FINISHED = ("done", "rejected", "cancelled")


class ThreadNotFound(LookupError):
    """No such thread in the checkpoint database."""


def context_metadata(context: WorkflowContext) -> str:
    return json.dumps(asdict(context), sort_keys=True)


def saved_context(metadata: dict[str, Any]) -> dict[str, Any]:
    """The settings a thread ran with ({} for a thread from before they were kept)."""
    try:
        saved = json.loads(str(metadata.get(CONTEXT_KEY) or "{}"))
    except ValueError:
        return {}
    return saved if isinstance(saved, dict) else {}


def config_of(thread: str) -> Any:
    """The run config naming ``thread`` (a ``RunnableConfig``)."""
    return {"configurable": {"thread_id": thread}}


async def run_leg(settings: Settings, thread: str, payload: Any, context: WorkflowContext,
                  view: View) -> Outcome:
    """Run the thread until it ends, waits for a human or fails; cancelled, it stops at its
    last checkpoint (status ``stopped``, resumable)."""
    import asyncio

    from graph.configured import factories
    from graph.workflow import build_workflow
    from localagent.checkpoints import open_saver
    from localagent.workflow.driver import Outcome, drive

    async with open_saver(settings) as saver:
        graph = build_workflow(checkpointer=saver, **factories(settings))
        config = config_of(thread)
        if isinstance(payload, dict):
            request = payload["request"]
        else:
            request = ((await graph.aget_state(config)).values or {}).get("request", "")
        config["metadata"] = {"graph": "workflow", "request": request[:200],
                              CONTEXT_KEY: context_metadata(context)}
        try:
            return await drive(graph, payload, config, context, view)
        except asyncio.CancelledError:  # Ctrl-C or a server stopping
            values = (await graph.aget_state(config)).values or {}
            return Outcome(thread, "stopped", dict(values))


async def load(saver: BaseCheckpointSaver[Any], thread: str) -> tuple[Any, dict[str, Any]]:
    """(state snapshot, run metadata) of ``thread``; ``ThreadNotFound`` if there is none."""
    from graph.workflow import build_workflow

    found = await saver.aget_tuple(config_of(thread))
    if found is None:
        raise ThreadNotFound(thread)
    snapshot = await build_workflow(checkpointer=saver).aget_state(config_of(thread))
    return snapshot, dict(found.metadata or {})


def brief(thread: str, snapshot: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """Status, request, workspace, next nodes, pending question, report of one thread."""
    from localagent.workflow.driver import resume_command, thread_status

    values = snapshot.values or {}
    status = thread_status(snapshot)
    doc: dict[str, Any] = {
        "thread_id": thread, "status": status,
        "request": values.get("request") or metadata.get("request"),
        "workspace": values.get("workspace"), "next": list(snapshot.next),
        "updated": snapshot.created_at, "report": values.get("report_path") or None}
    if snapshot.interrupts:
        question = snapshot.interrupts[0].value
        doc["waiting_for"] = {"type": question.get("type"), "message": question.get("message")}
    if status in ("waiting", "stopped", "failed"):
        doc["resume_command"] = resume_command(thread)
    return doc


async def latest(saver: BaseCheckpointSaver[Any], limit: int) -> list[tuple[dict[str, Any], Any]]:
    """(newest checkpoint item, state snapshot) of the newest workflow threads."""
    from graph.workflow import build_workflow
    from localagent.checkpoints import latest_threads

    graph = build_workflow(checkpointer=saver)
    return [(item, await graph.aget_state(config_of(item["thread_id"])))
            for item in await latest_threads(saver, graph="workflow", limit=limit)]


def report_file(thread: str, values: dict[str, Any], fmt: str) -> Path:
    """Where the thread's report is (``report.json`` for json/yaml, else ``report.md``);
    ``LookupError`` with what is missing when there is none."""
    from localagent.paths import run_folder_name

    workspace = values.get("workspace")
    if not workspace:
        raise LookupError(f"thread {thread} has no workspace recorded, so no report")
    folder = Path(workspace) / ".localagent" / "runs" / run_folder_name(thread)
    path = folder / ("report.json" if fmt in ("json", "yaml") else "report.md")
    if not path.is_file():
        raise LookupError(f"no report yet for {thread} (looked for {path}); it is written "
                          "when the run ends or fails")
    return path

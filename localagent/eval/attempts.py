"""One attempt at a task, in its workspace copy: the phase workflow (headless, auto-approved,
checkpointed under its own thread, resumed if the thread exists), or the ``direct`` baseline
(one plain model call that gets the request and the files and returns whole files)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localagent.eval.suite import IGNORED, Task

if TYPE_CHECKING:
    from graph.configured import Configured


@dataclass
class Attempt:
    """What the solver did: ``status`` is the workflow's (done, failed, waiting,
    providers_failed, ...) or ``timeout``; ``phase`` is where it stopped when it did not end."""

    status: str
    error: str | None = None
    phase: str | None = None
    usage: dict[str, Any] = field(default_factory=lambda: {
        "model_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost": 0.0})
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _usage(values: dict[str, Any]) -> dict[str, Any]:
    from nodes.report import usage

    use = usage(list(values.get("activity") or []))
    return {k: use[k] for k in ("model_calls", "input_tokens", "output_tokens", "cost")}


def _stopped_in(phases: dict[str, dict[str, Any]], values: dict[str, Any]) -> str | None:
    for wanted in ("failed", "running"):
        for name, info in phases.items():
            if info.get("status") == wanted:
                return name
    return str(values.get("phase")) if values.get("phase") else None


async def workflow_attempt(task: Task, workspace: Path, thread: str, saver: Any,
                           model: Any, configured: Configured, context: Any) -> Attempt:
    """Run (or resume) the workflow on ``workspace`` under ``thread`` within the task's
    time limit; ``model`` (None: the configured providers) and ``configured``'s security
    settings."""
    from graph.workflow import build_workflow
    from localagent.workflow.driver import drive, thread_status
    from localagent.workflow.progress import Tracker, View
    from localagent.workflow.threads import CONTEXT_KEY, context_metadata

    graph = build_workflow(model=model, models=configured.model, policies=configured.policy,
                           checkpointer=saver)
    config: dict[str, Any] = {
        "configurable": {"thread_id": thread},
        "metadata": {"graph": "workflow", "eval": True, "request": task.request[:200],
                     CONTEXT_KEY: context_metadata(context)}}
    before = await graph.aget_state(config)
    payload: Any = {"request": task.request, "workspace": str(workspace)}
    if before.values:  # a killed eval: the thread continues from its last checkpoint
        if thread_status(before) in ("done", "rejected", "cancelled"):
            values = dict(before.values)
            return Attempt(thread_status(before), usage=_usage(values),
                           changed=(values.get("applied") or {}).get("paths", []))
        payload = None
    view = View(Tracker())
    start = time.monotonic()
    try:
        outcome = await asyncio.wait_for(drive(graph, payload, config, context, view),
                                         timeout=task.timeout)
    except TimeoutError:
        values = dict((await graph.aget_state(config)).values or {})
        return Attempt("timeout", f"timed out after {task.timeout:g}s",
                       phase=_stopped_in(view.tracker.phases, values), usage=_usage(values),
                       seconds=round(time.monotonic() - start, 3))
    values = outcome.values
    error = outcome.error
    if outcome.status == "waiting":
        error = f"waiting for an answer ({(outcome.interrupt or {}).get('type')}) although " \
                "auto-approved"
    ended = outcome.status in ("done", "rejected", "cancelled")
    return Attempt(outcome.status, error,
                   phase=None if ended else _stopped_in(view.tracker.phases, values),
                   usage=_usage(values),
                   changed=(values.get("applied") or {}).get("paths", []),
                   seconds=round(time.monotonic() - start, 3))


# ---- the direct baseline ----------------------------------------------------------------

SYSTEM = """You change code in a repository to do what the request asks.
Reply with the complete new content of every file you change or create, each one as:

FILE: path/relative/to/the/repository
```
the whole new content of the file
```

Change only what the request needs. Files you do not list stay as they are."""

MAX_FILE_CHARS = 20_000
ANSWER = re.compile(r"FILE:\s*`?(?P<path>[^\s`]+)`?\s*\n(?P<fence>`{3,}|~{3,})[^\n]*\n"
                    r"(?P<body>.*?)\n?(?P=fence)[ \t]*(?:\n|$)", re.DOTALL)


def relevant_files(root: Path, budget: int) -> dict[str, str]:
    """The workspace's text files, smallest first, until ``budget`` characters."""
    found: list[tuple[int, str, str]] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in IGNORED or part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_FILE_CHARS:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found.append((len(text), relative.as_posix(), text))
    files: dict[str, str] = {}
    used = 0
    for size, name, text in sorted(found):
        if used + size > budget:
            break
        files[name] = text
        used += size
    return dict(sorted(files.items()))


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def direct_prompt(request: str, files: dict[str, str]) -> str:
    shown = "\n\n".join(f"FILE: {name}\n{_fence(text)}\n{text.rstrip()}\n{_fence(text)}"
                        for name, text in files.items())
    return f"Request: {request}\n\nThe repository's files:\n\n{shown}\n"


def parse_edits(answer: str) -> dict[str, str]:
    """Whole files from the answer (the last one wins when a path repeats)."""
    return {m["path"]: m["body"] + "\n" for m in ANSWER.finditer(answer)}


def write_edits(root: Path, edits: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write the edits that stay inside ``root``; returns (written, refused)."""
    from localagent.atomic import atomic_write

    written, refused = [], []
    for name, text in edits.items():
        target = (root / name).resolve()
        inside = target.is_relative_to(root.resolve()) and not any(
            part in (".git", ".localagent") for part in Path(name).parts)
        if not inside or Path(name).is_absolute():
            refused.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write(target, text, within=root.resolve())
        except OSError:
            refused.append(name)
            continue
        written.append(name)
    return written, refused


async def direct_attempt(task: Task, workspace: Path, model: Any,
                         budget: int = 12_000) -> Attempt:
    """One plain call: the request and the files in, whole files out, written if inside."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from localagent.redact import scrub

    files = await asyncio.to_thread(relevant_files, workspace, budget)
    prompt = direct_prompt(task.request, files)
    start = time.monotonic()
    try:
        message = await asyncio.wait_for(
            model.ainvoke([SystemMessage(SYSTEM), HumanMessage(prompt)]), timeout=task.timeout)
    except TimeoutError:
        return Attempt("timeout", f"timed out after {task.timeout:g}s", phase="direct",
                       seconds=round(time.monotonic() - start, 3))
    except Exception as exc:
        return Attempt("failed", scrub(f"{type(exc).__name__}: {exc}"), phase="direct",
                       seconds=round(time.monotonic() - start, 3))
    seconds = round(time.monotonic() - start, 3)
    used = dict(getattr(message, "usage_metadata", None) or {})
    meta = (getattr(message, "response_metadata", None) or {}).get("localagent", {})
    usage = {"model_calls": 1, "input_tokens": int(used.get("input_tokens") or 0),
             "output_tokens": int(used.get("output_tokens") or 0),
             "cost": float(meta.get("cost") or 0.0)}
    edits = parse_edits(str(message.content))
    written, refused = await asyncio.to_thread(write_edits, workspace, edits)
    error = None
    if refused:
        error = "refused edits outside the workspace: " + ", ".join(refused)
    elif not edits:
        error = "the answer held no FILE: blocks"
    return Attempt("done", error, phase=None if written else "direct", usage=usage,
                   changed=written, seconds=seconds)

"""``localagent eval SUITE`` (run a suite and score it) and ``localagent eval compare A B``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from localagent.cli.state import fail, state


class EvalGroup(TyperGroup):
    """``localagent eval SUITE ...`` is ``localagent eval run SUITE ...``."""

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=EvalGroup, no_args_is_help=True,
                  help="Measure the workflow on a suite of tasks with hidden checks: "
                  "localagent eval SUITE [--baseline direct]; localagent eval compare A B.")


def _default_output(suite: str) -> Path:
    from datetime import UTC, datetime

    from localagent.paths import data_dir, run_folder_name

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return data_dir() / "eval" / run_folder_name(f"{stamp}-{suite}") / "results.json"


def _latest(suite: str) -> Path | None:
    from localagent.paths import data_dir

    found = sorted((data_dir() / "eval").glob(f"*-{suite}/results.json"),
                   key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


@app.command("run")
def run(ctx: typer.Context,
        suite: str = typer.Argument(..., help="a directory of task.yaml files, or humaneval"),
        model: str = typer.Option(None, "--model", help="model for the provider"),
        limit: int = typer.Option(None, "--limit", min=1, metavar="N",
                                  help="the first N tasks (after --tasks)"),
        tasks: str = typer.Option(None, "--tasks", metavar="GLOB",
                                  help="tasks whose name or tag matches (comma-separated)"),
        parallel: int = typer.Option(1, "--parallel", min=1, max=32, metavar="K",
                                     help="attempts at a time"),
        runs: int = typer.Option(1, "--runs", min=1, max=100, metavar="R",
                                 help="attempts per task"),
        baseline: str = typer.Option(None, "--baseline", metavar="direct",
                                     help="also answer each task with one plain model call"),
        baseline_only: bool = typer.Option(False, "--baseline-only",
                                           help="run the baseline alone, not the workflow"),
        output: Path = typer.Option(None, "--output", "-o", metavar="PATH",
                                    help="results JSON (default: under the data dir)"),
        resume: bool = typer.Option(False, "--resume", help="continue a stopped eval: run "
                                    "only the attempts without a result"),
        ) -> None:
    """Run every task in a fresh copy, headless and auto-approved; score its hidden check."""
    from localagent.cli.workflow_cmd import _spec
    from localagent.eval import results
    from localagent.eval.suite import SuiteError, load_suite, select

    if baseline not in (None, "direct"):
        fail(f"--baseline: {baseline!r} is not known; the one baseline is 'direct'")
    if baseline_only and baseline is None:
        fail("--baseline-only needs --baseline direct")
    app_state = state(ctx)
    settings = app_state.load().settings
    try:
        name, found = load_suite(suite)
    except SuiteError as exc:
        fail(str(exc))
    if resume:
        path = output or _latest(name)
        if path is None or not path.exists():
            fail(f"--resume: no results of suite {name!r} to resume"
                 f"{f' at {path}' if path else ''}; run it without --resume first")
        try:
            doc = results.load(path)
        except ValueError as exc:
            fail(str(exc))
        if doc.get("suite") != name:
            fail(f"--resume: {path} holds suite {doc.get('suite')!r}, not {name!r}")
        by_name = {t.name: t for t in found}
        missing = [n for n in doc.get("tasks", []) if n not in by_name]
        if missing:
            fail(f"--resume: the suite no longer has the tasks {', '.join(missing[:5])}")
        chosen = [by_name[n] for n in doc.get("tasks", [])]
        spec = doc.get("provider")
    else:
        chosen = select(found, tasks, limit)
        if not chosen:
            fail(f"--tasks {tasks!r}: no task of suite {name!r} matches")
        path = output or _default_output(name)
        if path.exists():
            fail(f"--output: {path} exists: resume it with --resume, or pick another path")
        spec = _spec(settings, app_state.provider, model) or settings.system.default_provider
        command = "localagent " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        from localagent.eval.runner import new_doc

        doc = new_doc(name, spec, runs=runs, baseline=baseline, command=command,
                      tasks=chosen, workflow=not baseline_only)
    path = path.expanduser().resolve()
    _run(ctx, doc, path, chosen, spec, parallel, suite)


def _run(ctx: typer.Context, doc: dict[str, Any], path: Path, chosen: list[Any],
         spec: str | None, parallel: int, suite: str) -> None:
    import asyncio

    from localagent.cli.output import emit
    from localagent.eval import results
    from localagent.eval.live import EvalProgress
    from localagent.eval.runner import Runner, exit_code

    app_state = state(ctx)
    quiet = app_state.quiet or app_state.format != "rich"
    if not app_state.quiet:
        typer.echo(f"results: {path}", err=True)
    progress = EvalProgress(live=sys.stderr.isatty(), quiet=quiet)
    runner = Runner(doc, path, chosen, provider=spec, parallel=parallel, progress=progress)
    try:
        with progress:
            asyncio.run(runner.run())
    except KeyboardInterrupt:
        typer.echo(f"stopped; resume with: localagent eval {shlex.quote(suite)} --resume "
                   f"--output {shlex.quote(str(path))}", err=True)
        raise typer.Exit(130) from None
    report = path.with_suffix(".md")
    from localagent.atomic import atomic_write

    atomic_write(report, results.markdown(doc))
    summary = results.summarize(doc["results"])
    if app_state.format != "rich":
        emit({"results": str(path), "report": str(report), "summary": summary},
             app_state.format)
    else:
        from rich.console import Console

        Console().print(results.rich_table(results.summary_rows(summary),
                                           f"{doc['suite']} on {spec or 'default'}"))
        typer.echo(f"results: {path}\nreport: {report}")
    raise typer.Exit(exit_code(doc))


@app.command("compare")
def compare(ctx: typer.Context,
            first: Path = typer.Argument(..., metavar="A", help="results JSON"),
            second: Path = typer.Argument(..., metavar="B", help="results JSON")) -> None:
    """Per-task differences between two results files (and the summaries side by side)."""
    from localagent.cli.output import emit
    from localagent.eval import results

    try:
        a, b = results.load(first), results.load(second)
    except ValueError as exc:
        fail(str(exc))
    diffs, side = results.compare(a, b)
    app_state = state(ctx)
    if app_state.format != "rich":
        emit({"differences": [dict(zip(diffs[0], row, strict=True)) for row in diffs[1:]],
              "summary": [dict(zip(side[0], row, strict=True)) for row in side[1:]]},
             app_state.format)
        return
    from rich.console import Console

    console = Console()
    console.print(results.rich_table(side, f"A: {first}  B: {second}"))
    if len(diffs) > 1:
        console.print(results.rich_table(diffs, "tasks that differ"))
    else:
        console.print("no task differs")

"""Answering the workflow's interrupts at a terminal: the scope (confirm, edit in $EDITOR,
or feedback) and the diff (paged, then apply, reject or feedback)."""

from __future__ import annotations

from typing import Any

import typer

SCOPE_HELP = "[Y]es · [n]o (cancel) · [e]dit in $EDITOR · or type feedback to re-scope"
DIFF_HELP = "[y]es apply · [N]o reject · [d]iff again · or type feedback to re-plan"


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _show_scope(scope: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.panel import Panel

    def items(key: str) -> str:
        return "\n".join(f"  • {escape(str(v))}" for v in scope.get(key) or []) or "  (none)"

    body = (f"[bold]{escape(str(scope.get('summary', '')))}[/]\n\n"
            f"[b]Goals[/]\n{items('goals')}\n[b]Out of scope[/]\n{items('out_of_scope')}\n"
            f"[b]Acceptance checks[/]\n{items('acceptance_checks')}\n"
            f"[b]Project type[/] {escape(str(scope.get('project_type') or '?'))}")
    _console().print(Panel(body, title="Scope", expand=False))


def edit_text(text: str, suffix: str = ".yaml") -> str | None:
    """``text`` edited in ``$VISUAL`` / ``$EDITOR`` (else vi); None if left unchanged."""
    import os
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle, name = tempfile.mkstemp(suffix=suffix, prefix="localagent-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        code = subprocess.call([*shlex.split(editor), name])
        if code != 0:
            typer.echo(f"the editor ({editor}) exited with {code}; nothing changed", err=True)
            return None
        with open(name, encoding="utf-8") as edited:
            result = edited.read()
        return None if result == text else result
    finally:
        os.unlink(name)


def _edit_scope(scope: dict[str, Any]) -> dict[str, Any] | None:
    import yaml

    text = yaml.safe_dump(scope, sort_keys=False, allow_unicode=True)
    while True:
        edited = edit_text(text)
        if edited is None:
            return None
        try:
            data = yaml.safe_load(edited)
            if not isinstance(data, dict):
                raise ValueError("the scope must stay a mapping of fields")
            return data
        except (yaml.YAMLError, ValueError) as exc:
            typer.echo(f"that scope does not parse: {exc}", err=True)
            if not typer.confirm("edit again?", default=True, err=True):
                return None
            text = edited


def ask_scope(question: dict[str, Any]) -> Any:
    scope = question.get("scope") or {}
    _show_scope(scope)
    while True:
        answer = typer.prompt(f"Proceed with this scope? {SCOPE_HELP}", default="y",
                              show_default=False, err=True).strip()
        if answer.lower() in ("y", "yes"):
            return True
        if answer.lower() in ("n", "no"):
            return False
        if answer.lower() in ("e", "edit"):
            edits = _edit_scope(scope)
            if edits is None:
                typer.echo("scope unchanged", err=True)
                continue
            return {"approved": True, "edits": edits}
        return answer  # feedback: the graph re-scopes with it


def show_diff(diff: str) -> None:
    from rich.syntax import Syntax

    console = _console()
    view = Syntax(diff or "(empty diff)", "diff", theme="ansi_dark", word_wrap=True)
    if diff.count("\n") > max(10, console.height - 6):
        with console.pager(styles=True):
            console.print(view)
    else:
        console.print(view)


def ask_changes(question: dict[str, Any]) -> Any:
    files = question.get("files") or []
    typer.echo(f"\n{question.get('message', 'Apply these changes?')}", err=True)
    for path in files:
        typer.echo(f"  {path}", err=True)
    for conflict in question.get("conflicts") or []:
        typer.secho(f"  conflict: {conflict}", fg="red", err=True)
    show_diff(str(question.get("diff") or ""))
    while True:
        answer = typer.prompt(f"Apply? {DIFF_HELP}", default="n", show_default=False,
                              err=True).strip()
        if answer.lower() in ("d", "diff"):
            show_diff(str(question.get("diff") or ""))
            continue
        if answer.lower() in ("y", "yes"):
            return True
        if answer.lower() in ("n", "no"):
            return False
        return answer


def ask_other(question: dict[str, Any]) -> Any:
    import json

    typer.echo(question.get("message") or "The workflow needs an answer:", err=True)
    rest = {k: v for k, v in question.items() if k not in ("type", "message")}
    if rest:
        typer.echo(json.dumps(rest, indent=2, default=str)[:4000], err=True)
    answer = typer.prompt("Answer (yes / no / feedback)", default="y", err=True).strip()
    return {"y": True, "yes": True, "n": False, "no": False}.get(answer.lower(), answer)


def ask_command(question: dict[str, Any]) -> bool:
    """Run project code without an OS sandbox? Only an explicit yes runs it."""
    typer.secho(f"\n{question.get('message', 'Run this command without a sandbox?')}",
                fg="yellow", err=True)
    if question.get("sandbox"):
        typer.echo(f"  sandbox: {question['sandbox']}", err=True)
    answer = typer.prompt("Run it? [y]es · [N]o (skip this check)", default="n",
                          show_default=False, err=True).strip().lower()
    return answer in ("y", "yes")


def ask(question: dict[str, Any]) -> Any:
    """The resume value for one interrupt, from the person at the terminal."""
    handlers = {"confirm_scope": ask_scope, "approve_changes": ask_changes,
                "approve_command": ask_command}
    return handlers.get(str(question.get("type")), ask_other)(question)


def describe(question: dict[str, Any]) -> str:
    """The pending interrupt in a few lines (headless runs print this before exiting 3)."""
    lines = [f"waiting for a human: {question.get('type')} — {question.get('message', '')}"]
    if question.get("type") == "confirm_scope":
        lines.append(f"  scope: {(question.get('scope') or {}).get('summary', '')}")
    if question.get("type") == "approve_changes":
        lines.append(f"  files: {', '.join(question.get('files') or [])}")
    if question.get("type") == "approve_command":
        lines.append(f"  command: {question.get('command', '')}")
    return "\n".join(lines)

"""Phase 5: merge the proposals, show the diff for approval, apply through the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from graph.context import PolicyFactory, WorkflowContext
from graph.phases import APPLY, INTEGRATE
from graph.state import WorkflowState
from localagent.security import ChangeSetFailed, FileChange, PolicyDenied
from nodes.decisions import parse_decision
from nodes.merge import merge_versions, unified
from nodes.progress import phase
from nodes.workspace import context_of


def _original(target: Path) -> str | None:
    """The file's text ("" for a new file), or None when it is not UTF-8: agents read such a
    file with replacement characters, so their version of it would corrupt it."""
    if not target.is_file():
        return ""
    try:
        return target.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unmerged(state: WorkflowState) -> dict[str, Any]:
    """Proposals stay in the report, nothing is applied."""
    return {"changes": {"files": [], "conflicts": [], "diff": ""}}


@phase(INTEGRATE, skipped=_unmerged)
def merge(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
          policies: PolicyFactory) -> dict[str, Any]:
    policy = policies(state["workspace"], context_of(runtime))
    by_path: dict[str, list[tuple[str, str]]] = {}
    for result in state.get("execute_results") or []:
        latest: dict[str, str] = {}
        for edit in result["edits"]:  # a stream's last edit of a file wins
            latest[edit["path"]] = edit["content"]
        for path, content in latest.items():
            by_path.setdefault(path, []).append((result["stream"], content))
    files: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for path, versions in sorted(by_path.items()):
        original = _original(policy.workspace.root / path)
        if original is None:
            conflicts.append(f"{path}: not changed: the file is not UTF-8 text, and "
                             "LocalAgent edits only UTF-8 files (convert it, or make this "
                             "change by hand)")
            continue
        merged, clashes = merge_versions(original, versions)
        conflicts.extend(f"{path}: {c}" for c in clashes)
        diff = unified(path, original, merged)
        if diff:
            files.append({"path": path, "content": merged, "diff": diff,
                          "streams": [s for s, _ in versions]})
    return {"changes": {"files": files, "conflicts": conflicts,
                        "diff": "".join(f["diff"] for f in files)}}


def approve(state: WorkflowState, runtime: Runtime[WorkflowContext]
            ) -> Command[Literal["apply", "validate", "plan", "finish"]]:
    """Interrupt with the diff unless auto-approve; feedback re-plans, a no skips applying."""
    changes = state.get("changes") or {}
    if not changes.get("files"):
        return Command(goto="validate", update={"applied": {"paths": [], "status": "nothing"}})
    if not context_of(runtime).auto_approve:
        answer = interrupt({
            "type": "approve_changes",
            "message": f"Apply these changes to {len(changes['files'])} file(s)?",
            "diff": changes["diff"], "files": [f["path"] for f in changes["files"]],
            "conflicts": changes.get("conflicts", [])})
        decision = parse_decision(answer)
        if not decision.approved:
            if decision.feedback:
                return Command(goto="plan", update={
                    "lessons": [*(state.get("lessons") or []), decision.feedback]})
            return Command(goto="finish", update={
                "status": "rejected", "applied": {"paths": [], "status": "rejected"}})
    return Command(goto="apply")


@phase(APPLY)
def apply(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
          policies: PolicyFactory) -> dict[str, Any]:
    policy = policies(state["workspace"], context_of(runtime))
    changes = [FileChange(f["path"], f["content"]) for f in state["changes"]["files"]]
    try:
        done = policy.apply(changes, approved=True)
    except (ChangeSetFailed, PolicyDenied) as exc:
        return {"applied": {"paths": [], "status": "failed", "error": str(exc)}}
    return {"applied": {"paths": done.paths, "status": "applied", "id": done.id,
                        "backup": str(done.backup_dir)}}

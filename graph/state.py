"""Workflow and agent state, and the structured outputs phases ask models for."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

# Studio builds its input/output forms with pydantic, which needs typing_extensions' TypedDict
# on Python < 3.12.
from typing_extensions import TypedDict


class Scope(BaseModel):
    """The request restated: what is in, what is out, how we will know it is done."""

    summary: str = Field(description="one or two sentences: what the user wants")
    goals: list[str] = Field(default_factory=list, description="concrete goals, at most 5")
    out_of_scope: list[str] = Field(default_factory=list)
    acceptance_checks: list[str] = Field(default_factory=list,
                                         description="observable checks that prove it is done")
    project_type: str = Field("unknown", description="e.g. python, node, go, rust")


class Stream(BaseModel):
    """One stream of work, done by one agent."""

    id: str = Field(description="short slug, e.g. fix-parser")
    role: str = Field("backend-engineer", description="agent role that does it")
    focus: str = Field(description="what this stream changes, in one sentence")
    files: list[str] = Field(default_factory=list, description="workspace files involved")
    acceptance_checks: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list, description="ids of earlier streams")


class Plan(BaseModel):
    summary: str = ""
    streams: list[Stream] = Field(default_factory=list, description="1 to 4 streams")


class AuditReport(BaseModel):
    passed: bool = Field(description="does the applied change meet the acceptance checks")
    findings: list[str] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list,
                               description="what the plan should do differently, if anything")
    replan: bool = Field(False, description="send the work back to planning")


class DocUpdate(BaseModel):
    changelog_entry: str = Field("", description="one changelog line for this change")
    doc_notes: list[str] = Field(default_factory=list, description="docs that should change")


class Readiness(BaseModel):
    ready: bool = False
    summary: str = ""
    risks: list[str] = Field(default_factory=list)


class AgentFinding(BaseModel):
    """What an agent reports when it is done."""

    summary: str = Field(description="what you found or did, in 1-3 sentences")
    findings: list[str] = Field(default_factory=list, description="facts with file paths")


class Edit(BaseModel):
    path: str
    content: str
    reason: str = ""
    stream: str = ""


class AgentResult(BaseModel):
    """One branch's outcome; a failed branch carries its error instead of findings."""

    stream: str
    role: str
    phase: Literal["research", "execute"]
    status: Literal["ok", "failed"] = "ok"
    summary: str = ""
    findings: list[str] = Field(default_factory=list)
    edits: list[Edit] = Field(default_factory=list)
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    degenerate: str | None = Field(None, description="why the answer looks worthless, if it does")


class Override(list[Any]):
    """A list that replaces the state's list instead of being appended to it."""


def merge_list(current: list[Any] | None, update: list[Any] | None) -> list[Any]:
    """Reducer: append branch results; an ``Override`` replaces what was there."""
    if isinstance(update, Override):
        return list(update)
    return [*(current or []), *(update or [])]


def record_applied(current: dict[str, Any] | None, update: dict[str, Any] | None
                   ) -> dict[str, Any]:
    """Reducer for ``applied``: every change set written during the run is kept (a validate
    loop may apply a second one); ``status`` says what the latest attempt did, ``paths`` are
    all the files changed."""
    kept = dict(current or {"status": "none", "paths": [], "sets": []})
    if not update:
        return kept
    sets = list(kept.get("sets") or [])
    if update.get("id") or update.get("status") == "failed":
        sets.append(update)
    paths = list(kept.get("paths") or [])
    paths += [p for p in update.get("paths") or [] if p not in paths]
    return {"status": update.get("status", "none"), "paths": paths, "sets": sets}


class WorkflowInput(TypedDict):
    """What a run starts from: the request in plain words and the codebase's directory."""

    request: str
    workspace: str


class WorkflowState(TypedDict, total=False):
    request: str
    workspace: str
    status: str
    scope: dict[str, Any]
    scope_feedback: str
    research_input: str
    research: Annotated[list[dict[str, Any]], merge_list]
    plan: dict[str, Any]
    lessons: list[str]
    contexts: dict[str, str]
    done_streams: Annotated[list[str], merge_list]
    proposals: Annotated[list[dict[str, Any]], merge_list]
    changes: dict[str, Any]
    applied: Annotated[dict[str, Any], record_applied]
    validation: dict[str, Any]
    iteration: int
    audit: dict[str, Any]
    audit_loops: int
    docs: dict[str, Any]
    readiness: dict[str, Any]
    report_path: str
    error: str
    evidence: Annotated[list[dict[str, Any]], operator.add]


class AgentInput(TypedDict, total=False):
    """One branch's assignment (what ``Send`` carries to the agent subgraph)."""

    role: str
    task: str
    stream: str
    phase: Literal["research", "execute"]
    workspace: str


class AgentOutput(TypedDict, total=False):
    """What a branch hands back: its result under the workflow's key for its phase
    (``research``, or ``proposals`` and ``done_streams``) and its evidence."""

    result: dict[str, Any]
    research: Annotated[list[dict[str, Any]], merge_list]
    proposals: Annotated[list[dict[str, Any]], merge_list]
    done_streams: Annotated[list[str], merge_list]
    evidence: Annotated[list[dict[str, Any]], operator.add]


class AgentState(AgentInput, AgentOutput, total=False):
    """The agent subgraph: one role, one task, a tool loop, a structured result."""

    messages: Annotated[list[Any], operator.add]
    steps: int
    step_limit: int
    seconds: float
    error: str
    edits: Annotated[list[dict[str, Any]], operator.add]

"""Workflow and agent state, and the structured outputs phases ask models for."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
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
    research_areas: list[str] = Field(
        default_factory=list,
        description="what to look into before planning, one area per entry, most important "
                    "first (each is researched by its own agent)")


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
    streams: list[Stream] = Field(default_factory=list, description="1 or more streams")


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
    activity: list[dict[str, Any]] = Field(default_factory=list)
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


# The shapes the state holds: the phase answers above as dicts (``marked`` adds
# ``degenerate`` when the answer looks worthless), and what the nodes compute.


class ScopeState(TypedDict, total=False):
    summary: str
    goals: list[str]
    out_of_scope: list[str]
    acceptance_checks: list[str]
    project_type: str
    research_areas: list[str]
    degenerate: str


class StreamState(TypedDict):
    id: str
    role: str
    focus: str
    files: list[str]
    acceptance_checks: list[str]
    depends_on: list[str]


class PlanState(TypedDict, total=False):
    summary: str
    streams: list[StreamState]
    degenerate: str


class EditState(TypedDict, total=False):
    path: str
    content: str
    reason: str
    stream: str


class BranchResult(TypedDict, total=False):
    """One agent branch's ``AgentResult``: a research finding or an execute proposal."""

    stream: str
    role: str
    phase: Literal["research", "execute"]
    status: Literal["ok", "failed"]
    summary: str
    findings: list[str]
    edits: list[EditState]
    activity: list[dict[str, Any]]
    error: str | None
    degenerate: str | None


class ChangedFile(TypedDict):
    path: str
    content: str
    diff: str
    streams: list[str]


class ChangeSet(TypedDict, total=False):
    """The merged proposals: the files to write, the clashes left out, the whole diff."""

    files: list[ChangedFile]
    conflicts: list[str]
    diff: str


class Applied(TypedDict, total=False):
    """What was written: the latest attempt's status, every path, every change set."""

    status: str
    paths: list[str]
    sets: list[dict[str, Any]]
    id: str
    backup: str
    error: str


class CheckResult(TypedDict, total=False):
    command: str
    exit_code: int | None
    timed_out: bool
    declined: bool
    output_tail: str


class Validation(TypedDict, total=False):
    passed: bool
    skipped: bool
    checks: list[CheckResult]
    validation_loops: int


class AuditState(TypedDict, total=False):
    passed: bool
    findings: list[str]
    lessons: list[str]
    replan: bool
    degenerate: str


class DocsState(TypedDict, total=False):
    changelog_entry: str
    doc_notes: list[str]
    degenerate: str


class ReadinessState(TypedDict, total=False):
    ready: bool
    summary: str
    risks: list[str]
    degenerate: str


class WorkflowInput(TypedDict):
    """What a run starts from: the request in plain words and the codebase's directory."""

    request: str
    workspace: str


class WorkflowState(TypedDict, total=False):
    request: str
    workspace: str
    status: str
    scope: ScopeState
    scope_feedback: str
    validation_failure: str
    research: Annotated[list[BranchResult], merge_list]
    plan: PlanState
    lessons: list[str]
    stream_contexts: dict[str, str]
    done_streams: Annotated[list[str], merge_list]
    execute_results: Annotated[list[BranchResult], merge_list]
    changes: ChangeSet
    applied: Annotated[Applied, record_applied]
    validation: Validation
    validation_loops: int
    audit: AuditState
    audit_loops: int
    docs: DocsState
    readiness: ReadinessState
    report_path: str
    error: str
    # the run's activity records (model calls, tool calls, commands, phase and branch
    # timings), appended by every node; usage, cost and the report are summed from them
    activity: Annotated[list[dict[str, Any]], operator.add]


class AgentInput(TypedDict, total=False):
    """One branch's assignment (what ``Send`` carries to the agent subgraph)."""

    role: str
    task: str
    stream: str
    phase: Literal["research", "execute"]
    workspace: str


class AgentOutput(TypedDict, total=False):
    """What a branch hands back: its result under the workflow's key for its phase
    (``research``, or ``execute_results`` and ``done_streams``) and its activity."""

    result: BranchResult
    research: Annotated[list[BranchResult], merge_list]
    execute_results: Annotated[list[BranchResult], merge_list]
    done_streams: Annotated[list[str], merge_list]
    activity: Annotated[list[dict[str, Any]], operator.add]


class AgentState(AgentInput, AgentOutput, total=False):
    """The agent subgraph: one role, one task, a tool loop, a structured result."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: int
    step_limit: int
    seconds: float
    error: str
    edits: Annotated[list[EditState], operator.add]

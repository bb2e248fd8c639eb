"""Phase 3: per stream, the files and findings it needs, within a token budget."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import PolicyFactory, WorkflowContext
from graph.phases import CONTEXT
from graph.state import WorkflowState
from localagent.security import PolicyDenied
from nodes.plan import findings_of
from nodes.progress import phase
from nodes.workspace import context_of
from providers.tokens import CHARS_PER_TOKEN, text_tokens


def package(files: list[tuple[str, str]], findings: list[str], budget: int) -> str:
    """Findings first, then whole files while they fit; a file that does not fit is cut."""
    parts = ["Findings:\n" + ("\n".join(f"- {f}" for f in findings) or "(none)")]
    used = text_tokens(parts[0])
    for path, text in files:
        block = f"--- {path} ---\n{text}"
        cost = text_tokens(block)
        if used + cost > budget:
            room = max(0, int((budget - used) * CHARS_PER_TOKEN))
            if room > 200:
                parts.append(block[:room] + f"\n[... {path} cut to fit the context budget]")
            break
        parts.append(block)
        used += cost
    return "\n\n".join(parts)


@phase(CONTEXT, skipped=lambda state: {"stream_contexts": {}})
def pack_contexts(state: WorkflowState, runtime: Runtime[WorkflowContext], *,
          policies: PolicyFactory) -> dict[str, Any]:
    context = context_of(runtime)
    policy = policies(state["workspace"], context)
    budget = context.context_token_budget
    findings = findings_of(state)
    contexts: dict[str, str] = {}
    for stream in state["plan"]["streams"]:
        files: list[tuple[str, str]] = []
        for path in stream["files"]:
            try:
                files.append((path, policy.read_text(path)))
            except PolicyDenied as denied:
                files.append((path, f"({denied.tool_error()})"))
        contexts[stream["id"]] = package(files, findings, budget)
    return {"stream_contexts": contexts}

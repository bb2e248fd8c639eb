"""The run context a node sees (the defaults when a caller gave none)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import WorkflowContext


def context_of(runtime: Runtime[WorkflowContext]) -> WorkflowContext:
    return runtime.context or WorkflowContext()

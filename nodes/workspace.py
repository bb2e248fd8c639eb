"""The security policy a node uses for the run's workspace."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import WorkflowContext, settings
from localagent.security import SecurityPolicy


def policy_for(workspace: str, runtime: Runtime[WorkflowContext]) -> SecurityPolicy:
    context = runtime.context or WorkflowContext()
    return SecurityPolicy(workspace, settings().security, auto_approve=context.auto_approve,
                          extra_commands=context.allow_commands)


def context_of(runtime: Runtime[WorkflowContext]) -> WorkflowContext:
    return runtime.context or WorkflowContext()

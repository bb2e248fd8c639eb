"""Running one agent branch (a Send target): failures and timeouts become failed results."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graph.context import WorkflowContext
from graph.state import AgentResult
from nodes.progress import emit

BRANCH_TIMEOUT = 900.0
RESULT_KEYS = {"research": "research", "execute": "proposals"}


async def run_branch(payload: dict[str, Any], runtime: Runtime[WorkflowContext], *,
                     agent: Any) -> dict[str, Any]:
    phase, stream = payload["phase"], payload["stream"]
    emit(runtime, "branch_started", phase=phase, stream=stream, role=payload["role"])
    evidence: list[dict[str, Any]] = []
    try:
        out = await asyncio.wait_for(agent.ainvoke(payload, context=runtime.context),
                                     timeout=BRANCH_TIMEOUT)
        result = AgentResult.model_validate(out["result"])
        evidence = list(out.get("evidence") or [])
    except Exception as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"
        result = AgentResult(stream=stream, role=payload["role"], phase=phase, status="failed",
                             error=f"{reason}: {exc}"[:1000])
    emit(runtime, "branch_finished", phase=phase, stream=stream, status=result.status,
         error=result.error)
    update: dict[str, Any] = {RESULT_KEYS[phase]: [result.model_dump()], "evidence": evidence}
    if phase == "execute":
        update["done_streams"] = [stream]
    return update

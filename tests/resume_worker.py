"""Runs the workflow with a SQLite checkpointer (a subprocess of test_resume.py).

argv: DB LOG WORKSPACE THREAD start|resume [SLOW_SECONDS]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from graph.context import WorkflowContext
from graph.workflow import build_workflow
from tests.graph_fakes import PhaseModel, call

SCOPE = {"summary": "two files", "goals": [], "out_of_scope": [], "acceptance_checks": [],
         "project_type": "python"}
PLAN = {"summary": "two", "streams": [
    {"id": "a", "role": "backend-engineer", "focus": "stream a", "files": [],
     "acceptance_checks": [], "depends_on": []},
    {"id": "b", "role": "backend-engineer", "focus": "stream b", "files": [],
     "acceptance_checks": [], "depends_on": []}]}


async def main(db: str, log: str, workspace: str, thread: str, mode: str, slow: float) -> None:
    model = PhaseModel(
        structured={"Scope": [SCOPE], "Plan": [PLAN],
                    "AgentFinding": [{"summary": "s", "findings": []}],
                    "AuditReport": [{"passed": True}], "DocUpdate": [{}],
                    "Readiness": [{"ready": True}]},
        turns=[("Your area", ["ok"]),
               ("stream a", [[call("propose_edit", path="a.txt", content="A\n")], "done"]),
               ("stream b", [[call("propose_edit", path="b.txt", content="B\n")], "done"])],
        slow={"stream b": slow}, log_file=log)
    async with AsyncSqliteSaver.from_conn_string(db) as saver:
        graph = build_workflow(model=model, checkpointer=saver)
        payload: Any = {"request": "write a and b", "workspace": workspace} \
            if mode == "start" else None
        context = WorkflowContext(auto_approve=True, max_parallel_agents=2, max_iterations=0,
                                  phases=[0, 1, 2, 3, 4, 5, 6, 8])
        await graph.ainvoke(payload, {"configurable": {"thread_id": thread}}, context=context,
                            durability="sync")
        state = await graph.aget_state({"configurable": {"thread_id": thread}})
        print("STATUS", state.values.get("status"), flush=True)


if __name__ == "__main__":
    db, log, workspace, thread, mode = sys.argv[1:6]
    asyncio.run(main(db, log, workspace, thread, mode,
                     float(sys.argv[6]) if len(sys.argv) > 6 else 0.0))

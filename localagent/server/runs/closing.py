"""Closing a thread as cancelled: its state says so (nothing left to run, no question
pending) and its report is written, as the run's own ``finish`` node would."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localagent.config.schema import Settings


async def close_cancelled(settings: Settings, thread: str) -> None:
    from graph.workflow import build_workflow
    from localagent.checkpoints import open_saver
    from localagent.workflow.threads import config_of
    from nodes.report import write_report

    async with open_saver(settings) as saver:
        graph = build_workflow(checkpointer=saver)
        config = config_of(thread)
        values = dict((await graph.aget_state(config)).values or {})
        path = await asyncio.to_thread(write_report, values,  # type: ignore[arg-type]
                                       status="cancelled", thread=thread)
        # as the finish node: the thread ends here, whatever was pending
        await graph.aupdate_state(config, {"status": "cancelled", "report_path": path or ""},
                                  as_node="finish")

"""Runs an eval of a suite with scripted models (a subprocess of test_eval_resume.py).

argv: SUITE OUTPUT LOG_DIR start|resume [SLOW_TASK]
Each task's model calls are logged to LOG_DIR/<task>.log (the log survives kill -9); the
model of SLOW_TASK hangs in its execute branch, so the test can kill the eval there.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from graph.context import WorkflowContext
from localagent.eval import results
from localagent.eval.runner import Runner, new_doc
from localagent.eval.suite import Task, load_suite
from tests.eval_fakes import edit_model


async def main(suite: str, output: Path, logs: Path, mode: str, slow: str) -> None:
    name, tasks = load_suite(suite)
    doc = results.load(output) if mode == "resume" else new_doc(
        name, None, runs=1, baseline=None, command="worker", tasks=tasks)

    def model_for(task: Task, _mode: str) -> Any:
        hang = {"fix the add function": 600.0} if task.name == slow else {}
        return edit_model(log_file=str(logs / f"{task.name}.log"), slow=hang)

    context = WorkflowContext(auto_approve=True, max_parallel_agents=1, max_iterations=0,
                              phases=(0, 1, 2, 3, 4, 5))
    await Runner(doc, output, tasks, parallel=1, model=model_for, context=context).run()
    print("DONE", len(doc["results"]), flush=True)


if __name__ == "__main__":
    suite, output, logs, mode = sys.argv[1:5]
    asyncio.run(main(suite, Path(output), Path(logs), mode,
                     sys.argv[5] if len(sys.argv) > 5 else ""))

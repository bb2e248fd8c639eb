"""P3: fan-out. 16 agent branches (``Send`` to the real agent subgraph, through the
resilient wrapper, tools through the security policy) against one branch, on a model that
takes 200 ms a call and uses no CPU: with the model calls overlapping, what is left is the
branches' own CPU, run one at a time by the interpreter.

Reported: the wall-time ratio (median of interleaved runs) and the process CPU per branch
(all of it is outside the model: the model only sleeps)."""

from __future__ import annotations

import asyncio
import operator
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from typing_extensions import TypedDict

from bench.providers_bench import Row

LATENCY = 0.2
WIDE = 16
TOOL_TURNS = 2  # each branch: two tool turns, an answer, then its structured report
RATIO_GOAL = 1.25
CPU_GOAL = 0.010
USAGE = {"input_tokens": 20, "output_tokens": 10, "total_tokens": 30}


class SlowAgentModel(BaseChatModel):
    """Answers an agent like a remote model would, after ``LATENCY`` seconds: a tool call
    per turn for ``TOOL_TURNS`` turns, then text; a structured report when asked for one."""

    @property
    def _llm_type(self) -> str:
        return "bench-slow-agent"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None,
                   **kwargs: Any) -> Runnable[Any, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools],
                         tool_choice=tool_choice, **kwargs)

    def _answer(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        names = [t["function"]["name"] for t in tools]
        if names == ["AgentFinding"]:
            call = {"name": "AgentFinding", "id": "report", "type": "tool_call",
                    "args": {"summary": "looked around", "findings": ["a.py:1 is short"]}}
            return AIMessage(content="", tool_calls=[call], usage_metadata=USAGE)
        turn = sum(isinstance(m, AIMessage) for m in messages)
        if turn < TOOL_TURNS:
            call = ({"name": "list_files", "args": {}} if turn == 0 else
                    {"name": "read_file", "args": {"path": "a.py"}})
            return AIMessage(content="", usage_metadata=USAGE, tool_calls=[
                {**call, "id": f"call-{turn}", "type": "tool_call"}])
        return AIMessage(content="done looking", usage_metadata=USAGE)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        time.sleep(LATENCY)
        message = self._answer(messages, kwargs.get("tools") or [])
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        await asyncio.sleep(LATENCY)
        message = self._answer(messages, kwargs.get("tools") or [])
        return ChatResult(generations=[ChatGeneration(message=message)])


class FanState(TypedDict, total=False):
    width: int
    workspace: str
    research: Annotated[list[Any], operator.add]
    activity: Annotated[list[Any], operator.add]


def _graph(workspace: str) -> Any:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    from graph.agent import build_agent
    from localagent.security import SecurityPolicy
    from nodes.model_calls import ModelSource
    from providers.policy import CachePolicy
    from providers.resilient import ResilientChatModel

    model = ResilientChatModel(models=[SlowAgentModel()], cache_policy=CachePolicy(enabled=False))
    agent = build_agent(ModelSource.fixed(model),
                        lambda ws, context: SecurityPolicy(ws, auto_approve=True))

    def fan_out(state: FanState) -> list[Any]:  # (hints are evaluated: Send is local)
        return [Send("agent", {"phase": "research", "stream": f"area-{n}",
                               "role": "codebase-research-analyst",
                               "workspace": state["workspace"],
                               "task": f"Research area {n} of the code."})
                for n in range(state["width"])]

    builder = StateGraph(FanState)
    builder.add_node("agent", agent)
    builder.add_conditional_edges(START, fan_out, ["agent"])
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=InMemorySaver())


def _workspace(root: Path) -> str:
    for n in range(20):
        (root / f"m{n}.py").write_text(f"def f{n}(x):\n    return x + {n}\n")
    (root / "a.py").write_text("print('a')\n")
    return str(root)


def p3_fan_out(quick: bool) -> list[Row]:
    """Median wall time of a 16-branch and a 1-branch run (alternating), and CPU a branch."""
    from graph.context import WorkflowContext

    rounds = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp))
        graph = _graph(workspace)
        context = WorkflowContext(max_parallel_agents=WIDE)

        async def run(width: int, thread: str) -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            out = await graph.ainvoke({"width": width, "workspace": workspace},
                                      {"configurable": {"thread_id": thread}},
                                      context=context)
            done = [r for r in out["research"] if r["status"] == "ok"]
            if len(done) != width:
                raise RuntimeError(f"{width - len(done)} of {width} branches failed: "
                                   f"{out['research']}")
            return time.perf_counter() - wall, time.process_time() - cpu

        async def measure() -> dict[int, list[tuple[float, float]]]:
            samples: dict[int, list[tuple[float, float]]] = {1: [], WIDE: []}
            await run(WIDE, "warm-up")
            for index in range(rounds):
                order: list[int] = [1, WIDE] if index % 2 else [WIDE, 1]
                for width in order:
                    samples[width].append(await run(width, f"r{index}-{width}"))
            return samples

        samples = asyncio.run(measure())
    median: Callable[[list[float]], float] = statistics.median
    one = median([wall for wall, _ in samples[1]])
    wide = median([wall for wall, _ in samples[WIDE]])
    cpu = median([cpu / WIDE for _, cpu in samples[WIDE]])
    ratio = wide / one
    calls = TOOL_TURNS + 2
    return [
        Row(f"P3 {WIDE} branches vs 1 ({LATENCY * 1e3:.0f} ms model, {calls} calls a branch)",
            f"{wide:.2f} s", f"1 branch {one:.2f} s", f"{ratio:.2f}x", f"<= {RATIO_GOAL}x",
            ratio <= RATIO_GOAL),
        Row("P3 CPU per branch outside the model", f"{cpu * 1e3:.1f} ms",
            f"{WIDE} branches, process CPU", f"{cpu * 1e3:.1f} ms",
            f"<= {CPU_GOAL * 1e3:.0f} ms", cpu <= CPU_GOAL)]


ALL: dict[str, Callable[[bool], list[Row]]] = {"P3": p3_fan_out}

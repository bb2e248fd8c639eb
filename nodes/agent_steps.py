"""The agent subgraph's steps: think (model with tools), act (run tools), report."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from graph.context import WorkflowContext
from graph.state import AgentFinding, AgentResult, AgentState
from nodes.branches import finish, start, step, time_left
from nodes.model_calls import Ask, Chat, ModelSource
from nodes.runnable import Steps
from nodes.toolbox import Toolbox
from nodes.tools import run_tool
from nodes.workspace import context_of

TRANSCRIPT_CHARS = 6000
STEP_LIMIT = WorkflowContext.agent_step_limit


@step
def think(state: AgentState, runtime: Runtime[WorkflowContext], *,
          models: ModelSource, toolbox: Toolbox) -> Steps:
    kit = toolbox.kit(state, runtime)
    role, tools = kit.role, kit.tools
    messages = list(state.get("messages") or [])
    new: list[Any] = []
    opening: dict[str, Any] = {}
    if not messages:
        opening = start(state, runtime)
        new = [SystemMessage(role.body), HumanMessage(state["task"])]
        messages = new
    model = models.get(context_of(runtime), role.model)
    # the first turn must use a tool: an agent looks before it answers
    first = not any(isinstance(m, AIMessage) for m in messages)
    bound = model.bind_tools(tools, tool_choice="any" if first else None) if tools else model
    response, activity = yield Chat(bound, messages, phase=state.get("phase", "agent"),
                                    stream=state.get("stream", ""), timeout=time_left(state),
                                    instructions=[t.description for t in tools])
    return {**opening, "messages": [*new, response], "steps": state.get("steps", 0) + 1,
            "activity": [activity]}


def after_think(state: AgentState) -> Literal["act", "report"]:
    """More tools to run, or the end (a failed step too: ``report`` then reports the
    failure)."""
    if state.get("error"):
        return "report"
    last = state["messages"][-1]
    limit = state.get("step_limit") or STEP_LIMIT
    if isinstance(last, AIMessage) and last.tool_calls and state.get("steps", 0) < limit:
        return "act"
    return "report"


def after_act(state: AgentState) -> Literal["think", "report"]:
    return "report" if state.get("error") else "think"


@step
def act(state: AgentState, runtime: Runtime[WorkflowContext], *,
        toolbox: Toolbox) -> dict[str, Any]:
    """Run every tool call of the last message through the policy, in order."""
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    stream = state.get("stream", "")
    proposals: list[dict[str, Any]] = []
    tools = toolbox.kit(state, runtime).named()
    replies: list[ToolMessage] = []
    activity: list[dict[str, Any]] = []
    for call in last.tool_calls:
        tool = tools.get(call["name"])
        if tool is None:
            reply = ToolMessage(f"error: no tool named {call['name']!r} here; available: "
                                f"{', '.join(tools) or 'none'}",
                                tool_call_id=call["id"] or call["name"], status="error")
        else:
            reply = run_tool(tool, call)
        if isinstance(reply.artifact, dict):  # a proposed edit, kept once (in ``edits``)
            proposals.append({**reply.artifact, "stream": stream})
            reply.artifact = None
        replies.append(reply)
        output, ok = str(reply.content), reply.status != "error"
        activity.append({"kind": "tool_call", "phase": state.get("phase", ""),
                         "stream": state.get("stream", ""), "tool": call["name"], "ok": ok,
                         "args": {k: str(v)[:120] for k, v in call["args"].items()},
                         "output_tail": output[-300:]})
    return {"messages": replies, "edits": proposals, "activity": activity}


def _transcript(state: AgentState) -> str:
    parts: list[str] = []
    for message in state["messages"][1:]:
        text = message.content if isinstance(message.content, str) else str(message.content)
        if isinstance(message, AIMessage) and message.tool_calls:
            text += " " + "; ".join(f"{c['name']}({c['args']})" for c in message.tool_calls)
        parts.append(f"[{message.type}] {text[:1500]}")
    return "\n".join(parts)[-TRANSCRIPT_CHARS:]


def report(state: AgentState, runtime: Runtime[WorkflowContext], *,
           models: ModelSource, toolbox: Toolbox) -> Steps:
    """The branch's end: the structured result of the work above (unless a step failed),
    handed to the workflow; a failure here fails the branch, not the run."""
    update: dict[str, Any] = {}
    if not state.get("error"):
        update = yield from _summarise(state, runtime, models=models, toolbox=toolbox)
    return finish(state, runtime, update)


@step
def _summarise(state: AgentState, runtime: Runtime[WorkflowContext], *,
               models: ModelSource, toolbox: Toolbox) -> Steps:
    kit = toolbox.kit(state, runtime)
    role, tools = kit.role, kit.tools
    model = models.get(context_of(runtime), role.model)
    prompt = (f"Your task was: {state['task'][:1500]}\n\nWhat happened:\n{_transcript(state)}\n\n"
              f"Report what you found or did.")
    finding, activity = yield Ask(model, AgentFinding, prompt, phase=state.get("phase", ""),
                                  stream=state.get("stream", ""), timeout=time_left(state),
                                  instructions=[t.description for t in tools])
    result = AgentResult(stream=state.get("stream", ""), role=state["role"],
                         phase="execute" if state.get("phase") == "execute" else "research",
                         summary=finding.summary, findings=finding.findings,
                         edits=state.get("edits") or [], degenerate=activity.get("degenerate"))
    return {"result": result.model_dump(), "activity": [activity]}

"""The agent subgraph's steps: think (model with tools), act (run tools), report."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from graph.context import PolicyFactory, WorkflowContext
from graph.state import AgentFinding, AgentResult, AgentState
from nodes.branches import finish, start, step, time_left
from nodes.model_calls import Ask, Chat, ModelSource
from nodes.runnable import Steps
from nodes.tools import READ_ONLY, make_tools, run_tool
from nodes.workspace import context_of
from prompts import Prompt, load_role

PHASE_TOOLS = {"research": READ_ONLY, "execute": (*READ_ONLY, "propose_edit", "run_command")}
TRANSCRIPT_CHARS = 6000
STEP_LIMIT = WorkflowContext.agent_step_limit


def _tool_names(state: AgentState) -> list[str]:
    role = load_role(state["role"], state["workspace"])
    allowed = PHASE_TOOLS.get(state.get("phase", "research"), READ_ONLY)
    return [name for name in role.tools if name in allowed]


def _setup(state: AgentState, runtime: Runtime[WorkflowContext], policies: PolicyFactory
           ) -> tuple[Prompt, list[Any]]:
    """The role and its tools."""
    role = load_role(state["role"], state["workspace"])
    policy = policies(state["workspace"], context_of(runtime))
    return role, make_tools(policy, _tool_names(state), [], state.get("stream", ""))


@step
def think(state: AgentState, runtime: Runtime[WorkflowContext], *,
          models: ModelSource, policies: PolicyFactory) -> Steps:
    role, tools = _setup(state, runtime, policies)
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
        policies: PolicyFactory) -> dict[str, Any]:
    """Run every tool call of the last message through the policy, in order."""
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    proposals: list[dict[str, Any]] = []
    policy = policies(state["workspace"], context_of(runtime))
    tools = {t.name: t for t in make_tools(policy, _tool_names(state), proposals,
                                           state.get("stream", ""))}
    replies: list[ToolMessage] = []
    activity: list[dict[str, Any]] = []
    for call in last.tool_calls:
        tool = tools.get(call["name"])
        if tool is None:
            output, ok = (f"error: no tool named {call['name']!r} here; available: "
                          f"{', '.join(tools) or 'none'}"), False
        else:
            output, ok = run_tool(tool, call["args"])
        replies.append(ToolMessage(output, tool_call_id=call["id"] or call["name"],
                                   status="success" if ok else "error"))
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
           models: ModelSource, policies: PolicyFactory) -> Steps:
    """The branch's end: the structured result of the work above (unless a step failed),
    handed to the workflow; a failure here fails the branch, not the run."""
    update: dict[str, Any] = {}
    if not state.get("error"):
        update = yield from _summarise(state, runtime, models=models, policies=policies)
    return finish(state, runtime, update)


@step
def _summarise(state: AgentState, runtime: Runtime[WorkflowContext], *,
               models: ModelSource, policies: PolicyFactory) -> Steps:
    role, tools = _setup(state, runtime, policies)
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

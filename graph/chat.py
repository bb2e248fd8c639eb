"""The chat graph: one node answers the conversation so far. ``graph`` (no checkpointer) is
what langgraph.json serves; ``build_chat`` compiles it with a checkpointer or an injected model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime

from graph.context import settings
from nodes.models import ModelSource, render

SYSTEM_PROMPT = "phases/chat"


@dataclass
class ChatContext:
    """What a chat run may vary: the provider spec, chain or chain name (None: the default)."""

    provider: str | None = None


async def respond(state: MessagesState, runtime: Runtime[ChatContext], *,
                  models: ModelSource) -> dict[str, Any]:
    """The model's answer to the history; ``ainvoke`` so ``stream_mode="messages"`` streams it."""
    context = runtime.context or ChatContext()
    model = await models.aget(context, context.provider)
    system = SystemMessage(await render(SYSTEM_PROMPT))
    answer = await model.ainvoke([system, *state["messages"]])
    return {"messages": [answer]}


def build_chat(*, model: BaseChatModel | None = None, checkpointer: Any = None) -> Any:
    """The compiled chat graph; with ``model``, it answers instead of the providers."""
    builder = StateGraph(MessagesState, context_schema=ChatContext)
    builder.add_node("chat", partial(respond, models=ModelSource(model)))
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=checkpointer, name="chat")


settings()  # langgraph dev / Studio: read the configuration now, not on the event loop
graph = build_chat()

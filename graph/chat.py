"""The chat graph: one node answers the conversation so far. ``build_chat`` compiles it with
a checkpointer and an injected model or model factory; ``graph.served`` serves it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime

from graph.configured import Configured
from graph.context import ModelFactory
from nodes.model_calls import ModelSource, render

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


def build_chat(*, model: BaseChatModel | None = None, models: ModelFactory | None = None,
               checkpointer: Any = None) -> Any:
    """The compiled chat graph. ``model`` answers, else one ``models`` builds; left out, the
    user's configured providers (read when first needed)."""
    source = ModelSource.fixed(model) if model is not None else ModelSource(
        models or Configured().model)
    builder = StateGraph(MessagesState, context_schema=ChatContext)
    builder.add_node("chat", partial(respond, models=source))
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=checkpointer, name="chat")

"""Token estimates and context-window fitting, without any tokenizer download."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately

# ~4 characters per token for English and code; a little pessimistic on purpose so that an
# estimate that fits really fits.
CHARS_PER_TOKEN = 3.6
MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 800


def estimate_tokens(messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None) -> int:
    """Estimated prompt tokens for ``messages`` and tool schemas (OpenAI-format dicts, or
    any other value, counted by its ``repr``): LangChain's approximate counter, with our
    (pessimistic) characters per token, per-message overhead and image cost."""
    schemas: list[Any] = [t if isinstance(t, dict) else {"repr": repr(t)} for t in tools or ()]
    return count_tokens_approximately(
        messages, chars_per_token=CHARS_PER_TOKEN, extra_tokens_per_message=MESSAGE_OVERHEAD,
        tokens_per_image=IMAGE_TOKENS, tools=schemas or None)


def text_tokens(text: str) -> int:
    """Estimated tokens of ``text`` sent as one message."""
    return estimate_tokens([HumanMessage(text)])


def context_window(model: Any, override: int | None = None) -> int | None:
    """The model's context window: explicit override, Ollama's num_ctx, or its profile."""
    if override:
        return override
    target = getattr(model, "bound", model)
    num_ctx = getattr(target, "num_ctx", None)
    if isinstance(num_ctx, int) and num_ctx > 0:
        return num_ctx
    profile = getattr(target, "profile", None) if isinstance(target, BaseChatModel) else None
    if isinstance(profile, dict):
        value = profile.get("max_input_tokens")
        if isinstance(value, int) and value > 0:
            return value
    window = getattr(target, "context_window", None)
    return window if isinstance(window, int) and window > 0 else None


def fit_messages(messages: list[BaseMessage], budget: int) -> list[BaseMessage] | None:
    """Drop the oldest turns until the prompt fits ``budget`` tokens.

    System messages stay; a tool result never loses the AI message that called it; the kept
    history starts at a human turn. None when even the last turn alone does not fit.
    """
    if estimate_tokens(messages) <= budget:
        return messages
    if budget <= 0:
        return None
    trimmed = trim_messages(
        messages,
        max_tokens=budget,
        token_counter=lambda ms: estimate_tokens(ms),
        strategy="last",
        include_system=True,
        start_on="human",
        allow_partial=False,
    )
    if not any(m.type != "system" for m in trimmed):
        return None
    return trimmed

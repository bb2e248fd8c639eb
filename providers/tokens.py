"""Token estimates and context-window fitting, without any tokenizer download."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, trim_messages

# ~4 characters per token for English and code; a little pessimistic on purpose so that an
# estimate that fits really fits.
CHARS_PER_TOKEN = 3.6
MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 800


def _content_chars(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return len(content), 0
    chars = images = 0
    for block in content or []:
        if isinstance(block, str):
            chars += len(block)
        elif isinstance(block, dict):
            if block.get("type") in ("image", "image_url"):
                images += 1
            else:
                chars += len(str(block.get("text") or block.get("content") or ""))
    return chars, images


def message_tokens(message: BaseMessage) -> int:
    chars, images = _content_chars(message.content)
    if isinstance(message, AIMessage) and message.tool_calls:
        chars += len(json.dumps([c["args"] for c in message.tool_calls], default=str))
        chars += sum(len(c["name"]) for c in message.tool_calls)
    return int(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD + images * IMAGE_TOKENS


def estimate_tokens(messages: Sequence[BaseMessage], tools: Any = None) -> int:
    """Estimated prompt tokens for ``messages`` (and tool schemas, when given)."""
    total = sum(message_tokens(m) for m in messages)
    if tools:
        total += int(len(json.dumps(tools, default=str)) / CHARS_PER_TOKEN)
    return total


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

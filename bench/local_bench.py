"""L1: tokens/s of the embedded model through ``ResilientChatModel(models=[local])`` against
raw llama-cpp-python on the same loaded model and prompt, interleaved in the same run."""

from __future__ import annotations

import statistics
import time

from bench.providers_bench import Row

PROMPT = "Write a short story about a robot who learns to garden. Use simple words."
GOAL = 0.95


def l1_local_throughput(quick: bool) -> list[Row]:
    from langchain_core.messages import BaseMessage, HumanMessage

    from providers.local_chat import LocalChatModel
    from providers.local_files import assemble_default
    from providers.local_prompt import chat_messages
    from providers.policy import CachePolicy
    from providers.resilient import ResilientChatModel

    max_tokens = 48 if quick else 128
    local = LocalChatModel(model_path=str(assemble_default()), n_ctx=2048,
                           max_tokens=max_tokens, temperature=0)
    wrapped = ResilientChatModel(models=[local], cache_policy=CachePolicy(enabled=False))
    llama = local.loaded().llama
    messages: list[BaseMessage] = [HumanMessage(PROMPT)]
    raw_request = {"messages": chat_messages(messages), "max_tokens": max_tokens,
                   "temperature": 0.0, "seed": 0}

    def raw() -> float:
        started = time.perf_counter()
        out = llama.create_chat_completion(**raw_request)
        return out["usage"]["completion_tokens"] / (time.perf_counter() - started)

    def through_wrapper() -> float:
        started = time.perf_counter()
        answer = wrapped.invoke(messages)
        tokens = answer.usage_metadata["output_tokens"] if answer.usage_metadata else 0
        return tokens / (time.perf_counter() - started)

    raw()
    through_wrapper()  # warm both paths
    base, cand = [], []
    for _ in range(3 if quick else 7):
        base.append(raw())
        cand.append(through_wrapper())
    b, c = statistics.median(base), statistics.median(cand)
    return [Row("L1 local tokens/s via wrapper", f"{c:.1f} tok/s", f"{b:.1f} tok/s (raw)",
                f"{c / b:.3f}x", f">= {GOAL}x", c / b >= GOAL)]


ALL = {"L1": l1_local_throughput}

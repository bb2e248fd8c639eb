"""Is a model's answer worth anything? Degenerate answers (heavy repetition, the prompt or the
schema echoed back, empty required fields) are marked where they are shown, never presented as
work; when a tiny model answered, the run says so once, plainly."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

REPEATED_SHARE = 0.5    # of a text's word triples being repeats: a loop, not prose
MIN_WORDS = 12          # shorter texts are too short to judge repetition or copying
COPIED_SHARE = 0.7      # of an answer's 8-word runs found verbatim in the prompt
RUN = 8
TINY_PARAMETERS = 1_000_000_000

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _lists(value: Any) -> Iterable[list[str]]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _lists(item)
    elif isinstance(value, list):
        yield [v for v in value if isinstance(v, str)]
        for item in value:
            yield from _lists(item)


def _empty_required(model: BaseModel, prefix: str = "") -> list[str]:
    empty: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, str) and info.is_required() and not value.strip():
            empty.append(prefix + name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{name}[{index}]." if isinstance(value, list) else f"{name}."
                empty += _empty_required(item, prefix + where)
    return empty


def repetition(value: Any) -> str | None:
    """Why ``value``'s text reads as a loop (a list of the same items, a phrase over and
    over), or None."""
    for items in _lists(value):
        normal = [" ".join(_words(i)) for i in items if _words(i)]
        if len(normal) >= 3 and len(set(normal)) <= len(normal) / 2:
            item, count = Counter(normal).most_common(1)[0]
            return f"repeats {item[:60]!r} {count} times"
    words = _words("\n".join(_strings(value)))
    if len(words) < MIN_WORDS:
        return None
    triples = list(zip(words, words[1:], words[2:], strict=False))
    share = 1 - len(set(triples)) / len(triples)
    if share >= REPEATED_SHARE:
        return f"repeats itself ({share:.0%} of its word triples are repeats)"
    return None


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}


def copied(value: Any, prompt: str) -> str | None:
    """Why ``value`` reads as the prompt handed back, or None."""
    source = _runs(_words(prompt))
    for text in _strings(value):
        words = _words(text)
        if len(words) < MIN_WORDS:
            continue
        runs = _runs(words)
        if len(runs & source) / len(runs) >= COPIED_SHARE:
            return f"copies the prompt: {text[:80]!r}"
    return None


def _descriptions(schema: dict[str, Any]) -> Iterable[str]:
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _descriptions(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from _descriptions(item)


@functools.cache
def schema_descriptions(schema: type[BaseModel]) -> tuple[str, ...]:
    """The descriptions a structured-output schema shows the model (computed once)."""
    return tuple(_descriptions(schema.model_json_schema()))


def echoed(value: Any, descriptions: Sequence[str]) -> str | None:
    """Why ``value`` reads as the schema's (or a tool's) own description, or None."""
    known = [" ".join(_words(d)) for d in descriptions if len(_words(d)) >= 4]
    for text in _strings(value):
        said = " ".join(_words(text))
        if len(said.split()) >= 3 and any(said in d or d in said for d in known):
            return f"repeats the instructions: {text[:80]!r}"
    return None


def degenerate(answer: Any, *, prompt: str = "", schema: type[BaseModel] | None = None,
               instructions: Sequence[str] = ()) -> str | None:
    """Why an answer looks worthless (the first reason found), or None if it looks like an
    answer. ``instructions``: other texts the model was shown that it must not hand back
    (tool descriptions)."""
    if isinstance(answer, BaseModel):
        empty = _empty_required(answer)
        if empty:
            return "empty required field(s): " + ", ".join(empty)
        value: Any = answer.model_dump()
    else:
        value = answer
        if isinstance(value, str) and not value.strip():
            return "empty answer"
    texts = [*instructions, *(schema_descriptions(schema) if schema else ())]
    return repetition(value) or echoed(value, texts) or (copied(value, prompt) if prompt
                                                           else None)


def tiny_model(activity: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The first model call answered by a model under ``TINY_PARAMETERS``, if any."""
    for item in activity:
        parameters = item.get("parameters") if item.get("kind") == "model_call" else None
        if parameters and parameters < TINY_PARAMETERS:
            return item
    return None


def tiny_model_notice(activity: Iterable[dict[str, Any]]) -> str | None:
    """What to tell the user, once, when a tiny model answered."""
    call = tiny_model(activity)
    if call is None:
        return None
    name = call.get("model_description") or call.get("model") or call.get("provider")
    return (f"{name} ({call['parameters'] / 1e6:.0f}M parameters, via "
            f"{call.get('provider')}) answered: a model this small cannot do real work, so "
            "expect poor or meaningless results. For real work configure a provider: start "
            "Ollama with a model (`ollama pull llama3.2`), or store a key "
            "(`localagent keys set openai`) and pass `--provider openai:gpt-4o-mini` or set "
            "system.default_provider in the config; `localagent providers list` shows what "
            "is set up.")


def marked(answer: BaseModel, activity: dict[str, Any]) -> dict[str, Any]:
    """The answer as state, with ``degenerate`` (the reason) when its call was flagged."""
    value = answer.model_dump()
    if activity.get("degenerate"):
        value["degenerate"] = activity["degenerate"]
    return value

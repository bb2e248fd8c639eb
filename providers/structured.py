"""with_structured_output over the failover chain.

Each provider produces the schema its own way (json_schema, function calling, JSON mode);
a parse failure counts as a bad response, so the next provider gets its turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda

from providers.candidates import schema_fingerprint, with_schema
from providers.engine import Call
from providers.settle import settle_success

if TYPE_CHECKING:
    from providers.resilient import ResilientChatModel


def _parsed_or_raise(result: Any, provider: str) -> dict[str, Any]:
    if not isinstance(result, dict) or "parsed" not in result:
        raise OutputParserException(f"{provider} returned no structured result")
    if result.get("parsing_error") is not None:
        raise OutputParserException(f"{provider}: {result['parsing_error']}")
    if result.get("parsed") is None:
        raise OutputParserException(f"{provider} returned no object for the schema")
    return result


def _rebuild(schema: Any, data: Any) -> Any:
    validate = getattr(schema, "model_validate", None)
    return validate(data) if callable(validate) else data


def _dump(parsed: Any) -> Any:
    dump = getattr(parsed, "model_dump", None)
    return dump(mode="json") if callable(dump) else parsed


def structured_runnable(parent: ResilientChatModel, schema: Any, *, include_raw: bool,
                        kwargs: dict[str, Any]) -> Runnable[Any, Any]:
    flag = kwargs.pop("cache", None)
    cands = with_schema(parent.base_candidates(), schema, kwargs)
    fingerprint = {"schema": schema_fingerprint(schema), "options": sorted(kwargs)}

    def shape(raw: BaseMessage, parsed: Any) -> Any:
        if include_raw:
            return {"raw": raw, "parsed": parsed, "parsing_error": None}
        return parsed

    def from_cache(messages: list[BaseMessage]) -> Any:
        hit = parent.call_cache.lookup(cands, messages, {}, flag, fingerprint)
        if hit is None:
            return None
        cand, _key, entry = hit
        raw, _ = parent.call_cache.hit_message(cand, entry)
        return shape(raw, _rebuild(schema, entry.get("parsed")))

    def finish(outcome: Any, messages: list[BaseMessage]) -> Any:
        result = outcome.value
        raw = settle_success(parent.usage_ledger, outcome, result["raw"])
        parent.call_cache.keep(outcome, messages, {}, flag, raw, schema=fingerprint,
                               extra={"parsed": _dump(result["parsed"])})
        return shape(raw, result["parsed"])

    def call(action: Call) -> Any:
        return _parsed_or_raise(action.candidate.runnable.invoke(action.messages),
                                action.candidate.name)

    async def acall(action: Call) -> Any:
        return _parsed_or_raise(await action.candidate.runnable.ainvoke(action.messages),
                                action.candidate.name)

    def invoke(value: Any) -> Any:
        messages = parent._convert_input(value).to_messages()
        cached = from_cache(messages)
        if cached is not None:
            return cached
        return finish(parent.run_sync(cands, messages, 0, call), messages)

    async def ainvoke(value: Any) -> Any:
        messages = parent._convert_input(value).to_messages()
        cached = from_cache(messages)
        if cached is not None:
            return cached
        return finish(await parent.run_async(cands, messages, 0, acall), messages)

    return RunnableLambda(invoke, afunc=ainvoke, name="ResilientStructuredOutput")



"""Turning plain chat models into named failover candidates."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from providers import client_policy
from providers.engine import Candidate
from providers.guards import breaker_for, limiter_for
from providers.policy import ProviderPolicy
from providers.tokens import context_window

if TYPE_CHECKING:
    from providers.shared_store import SharedStore

# LangChain's _llm_type → our provider name.
_LLM_TYPES = {
    "openai-chat": "openai",
    "chat-ollama": "ollama",
    "chat-google-generative-ai": "gemini",
    "perplexitychat": "perplexity",
    "llama-cpp-local": "local",
}
_DEFAULT_HOSTS = {"api.openai.com", "generativelanguage.googleapis.com", "api.perplexity.ai"}


def _endpoint(model: Any) -> str | None:
    for attr in ("openai_api_base", "base_url"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    client = getattr(model, "client", None)
    value = getattr(client, "base_url", None)
    return str(value) if value else None


def model_id_of(model: Any) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value.removeprefix("models/")
    return type(model).__name__


def describe(model: BaseChatModel) -> tuple[str, str]:
    """(provider, name) of a chat model; the name identifies its breaker and limiter.

    Two clients of one model on different servers get different names, so they never share
    a breaker: ``openai-compatible:llama3@127.0.0.1:8000``.
    """
    llm_type = getattr(model, "_llm_type", type(model).__name__)
    provider = _LLM_TYPES.get(str(llm_type), str(llm_type))
    model_id = model_id_of(model)
    name = f"{provider}:{model_id}"
    endpoint = _endpoint(model)
    if endpoint:
        host = urlparse(endpoint if "//" in endpoint else f"http://{endpoint}").netloc
        if host and host not in _DEFAULT_HOSTS and provider != "ollama":
            if provider == "openai":
                provider = "openai-compatible"
                name = f"{provider}:{model_id}"
            name = f"{name}@{host}"
        elif host and provider == "ollama" and host not in ("localhost:11434", "127.0.0.1:11434"):
            name = f"{name}@{host}"
    return provider, name


def policy_for(provider: str, name: str, default: ProviderPolicy,
               policies: dict[str, ProviderPolicy]) -> ProviderPolicy:
    return policies.get(name) or policies.get(provider) or default


def build_candidates(models: Sequence[BaseChatModel], names: Sequence[str] | None,
                     default: ProviderPolicy, policies: dict[str, ProviderPolicy],
                     store: SharedStore | None = None) -> list[Candidate]:
    """Named candidates; with a shared ``store``, their breakers and limiters are shared by
    every process using it."""
    result = []
    for index, model in enumerate(models):
        provider, name = describe(model)
        if names and index < len(names) and names[index]:
            name = names[index]
        policy = policy_for(provider, name, default, policies)
        limited, client_timeout = client_policy.apply(model, policy.timeout)
        result.append(Candidate(
            name=name,
            model_id=model_id_of(model),
            runnable=limited,
            policy=policy,
            breaker=breaker_for(name, policy.breaker, store),
            limiter=limiter_for(name, policy.limits, store),
            window=context_window(model, policy.context_window),
            client_timeout=client_timeout,
        ))
    return result


def _rebind(candidates: list[Candidate], make: Callable[[Any], Any], unsupported: str,
            cannot: str) -> list[Candidate]:
    """Each candidate's runnable remade with ``make``; one that cannot is skipped, not failed."""
    result = []
    for cand in candidates:
        skip = None
        try:
            runnable = make(cand.runnable)
        except NotImplementedError:
            runnable, skip = cand.runnable, unsupported
        except (ValueError, TypeError) as exc:
            runnable, skip = cand.runnable, f"{cannot}: {exc}"
        result.append(dataclasses.replace(cand, runnable=runnable,
                                          skip_reason=skip or cand.skip_reason))
    return result


def with_tools(candidates: list[Candidate], tools: Sequence[Any], tool_choice: Any,
               extra: dict[str, Any]) -> list[Candidate]:
    """Each candidate bound with its own provider's ``bind_tools``."""
    kwargs = dict(extra)
    if tool_choice is not None:
        kwargs["tool_choice"] = tool_choice
    return _rebind(candidates, lambda model: model.bind_tools(tools, **kwargs),
                   "does not support tool calling", "cannot bind these tools")


def with_schema(candidates: list[Candidate], schema: Any, kwargs: dict[str, Any]
                ) -> list[Candidate]:
    """Each candidate's own ``with_structured_output`` (raw message kept for accounting)."""
    return _rebind(candidates,
                   lambda model: model.with_structured_output(schema, include_raw=True, **kwargs),
                   "does not support structured output", "cannot produce this schema")


def schema_fingerprint(schema: Any) -> Any:
    if isinstance(schema, dict):
        return schema
    to_schema = getattr(schema, "model_json_schema", None)
    if callable(to_schema):
        return to_schema()
    return json.dumps(getattr(schema, "__annotations__", str(schema)), default=str)


def tool_fingerprint(tools: Sequence[Any]) -> list[Any]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    out: list[Any] = []
    for tool in tools:
        try:
            out.append(convert_to_openai_tool(tool))
        except Exception:  # a provider-specific format: its repr is what it is
            out.append(repr(tool))
    return out


def tool_set_key(tools: Sequence[Any]) -> tuple[Any, ...]:
    """A key for a tool set that is cheap to compute (no schema conversion) and equal for
    tools with the same names, descriptions and argument schemas, whether or not they are
    the same objects: agents rebuild their tools on every turn."""
    return tuple(_tool_key(tool) for tool in tools)


def _tool_key(tool: Any) -> Any:
    from langchain_core.tools import BaseTool

    if isinstance(tool, dict):
        return json.dumps(tool, sort_keys=True, default=str)
    if isinstance(tool, BaseTool):
        schema = tool.args_schema
        return (type(tool).__qualname__, tool.name, tool.description,
                json.dumps(schema, sort_keys=True, default=str) if isinstance(schema, dict)
                else _schema_key(schema, set()), repr(getattr(tool, "extras", None)))
    if isinstance(tool, type) and issubclass(tool, BaseModel):
        return _schema_key(tool, set())
    if inspect.isfunction(tool) or inspect.ismethod(tool):
        return (tool.__module__, tool.__qualname__, tool.__doc__,
                str(inspect.signature(tool)))
    # anything else (a TypedDict, a provider-specific object): its converted schema
    return json.dumps(tool_fingerprint([tool]), sort_keys=True, default=str)


def _schema_key(schema: Any, seen: set[type]) -> Any:
    """Name, docstring and fields of a pydantic model, nested models included."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return repr(schema)
    if schema in seen:
        return schema.__qualname__
    seen.add(schema)
    return (schema.__qualname__, schema.__doc__, tuple(
        (name, _annotation_key(info.annotation, seen), repr(info.default),
         info.default_factory is not None, info.alias, info.description, repr(info.metadata))
        for name, info in schema.model_fields.items()))


def _annotation_key(annotation: Any, seen: set[type]) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _schema_key(annotation, seen)
    args = typing.get_args(annotation)
    if not args:
        return repr(annotation)
    return (repr(typing.get_origin(annotation)), tuple(_annotation_key(a, seen) for a in args))

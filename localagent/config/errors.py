"""Configuration errors that name the file (or variable), the key path and the reason."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

_SECRET_SUFFIXES = ("api_key", "secret", "token", "password", "master_key")


class ConfigError(Exception):
    """One or more configuration problems; ``str()`` is the first one on one line."""

    exit_code = 2

    def __init__(self, where: str, key: str, reason: str,
                 problems: list[str] | None = None) -> None:
        self.where, self.key, self.reason = where, key, reason
        first = ": ".join(part for part in (where, key, reason) if part)
        self.problems = problems or [first]
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' * (more > 1)})"
                                  if more else ""))


def explain(exc: ValidationError, origin: Callable[[tuple[str | int, ...]], str],
            model: type[BaseModel]) -> ConfigError:
    """A ConfigError for pydantic's errors, with where each bad value came from."""
    problems: list[tuple[str, str, str]] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc)
        problems.append((origin(loc), key, _reason(error, loc, model)))
    lines = [": ".join(p for p in problem if p) for problem in problems]
    where, key, reason = problems[0]
    return ConfigError(where, key, reason, lines)


def _reason(error: Any, loc: tuple[str | int, ...], model: type[BaseModel]) -> str:
    if error["type"] == "extra_forbidden":
        name = str(loc[-1])
        return f"unknown key '{name}'{did_you_mean(name, keys_at(model, loc[:-1]))}"
    message = str(error["msg"]).removeprefix("Value error, ")
    secret = any(str(part).lower().endswith(_SECRET_SUFFIXES) for part in loc)
    value = error.get("input")
    if not secret and isinstance(value, str | int | float | bool) and len(repr(value)) < 60:
        message += f" (got {value!r})"
    return message


def did_you_mean(name: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    if not candidates:
        return ""
    lowered = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    if not matches:
        matches = [c for c in lowered if c in name.lower() or name.lower() in c][:1]
    if matches:
        return f" (did you mean '{lowered[matches[0]]}'?)"
    return f"; valid keys: {', '.join(sorted(candidates))}"


def keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model found by walking ``loc`` down from ``model``."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation

"""The configuration layers and how they merge, remembering where each value came from."""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from localagent.config.errors import ConfigError
from localagent.config.sections import MERGED_LISTS

Key = tuple[str, ...]
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")

# Provider-native variables, in priority order per key (the first set one wins).
NATIVE_ENV: dict[Key, tuple[str, ...]] = {
    ("providers", "openai", "api_key"): ("OPENAI_API_KEY",),
    ("providers", "openai", "base_url"): ("OPENAI_BASE_URL",),
    ("providers", "gemini", "api_key"): ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    ("providers", "perplexity", "api_key"): ("PPLX_API_KEY", "PERPLEXITY_API_KEY"),
    ("providers", "ollama", "base_url"): ("OLLAMA_HOST",),
}


@dataclass
class Layer:
    name: str                      # "user file", "project file", "env", "flags"...
    data: dict[str, Any]
    origins: dict[Key, str] = field(default_factory=dict)  # key path -> file or variable
    where: str = ""                # file path, or "" for non-file layers

    def origin(self, key: Key) -> str | None:
        for end in range(len(key), 0, -1):
            if key[:end] in self.origins:
                return self.origins[key[:end]]
        return None


@dataclass
class LoadOptions:
    """What ``load_settings`` asks of the layered source (and gets back from it)."""

    cwd: Path | None = None
    config_file: Path | None = None     # --config: an extra file above the project file
    user_file: bool = True
    project_file: bool = True
    flags: dict[str, Any] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    provenance: dict[Key, str] = field(default_factory=dict)

    def origin(self, key: tuple[str | int, ...]) -> str:
        path = tuple(str(part) for part in key)
        for end in range(len(path), 0, -1):
            if path[:end] in self.provenance:
                return self.provenance[path[:end]]
        below = [origin for k, origin in self.provenance.items() if k[:len(path)] == path]
        return below[0] if below else "defaults"


CURRENT: contextvars.ContextVar[LoadOptions | None] = contextvars.ContextVar(
    "localagent_config_load", default=None)


def interpolate(value: Any, where: str, key: Key = ()) -> Any:
    """``${VAR}``, ``${VAR:-default}`` (unset or empty) and ``${VAR-default}`` (unset);
    ``$$`` is a literal ``$``. An unset variable without a default is an error."""
    if isinstance(value, dict):
        return {k: interpolate(v, where, (*key, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, where, (*key, str(i))) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group(1), match.group(2), match.group(3)
        current = os.environ.get(name)
        if op == ":-" and not current:
            return default or ""
        if op == "-" and current is None:
            return default or ""
        if current is None:
            raise ConfigError(where, ".".join(key),
                              f"${{{name}}} is not set and has no default "
                              f"(set it, or write ${{{name}:-default}})")
        return current

    return _VAR.sub(substitute, value)


def yaml_layer(path: Path, name: str) -> Layer:
    """A YAML config file, interpolated; errors name the file (and line, for syntax)."""
    from localagent.config.yamlfile import load_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not UTF-8 text: {exc.reason}") from None
    data = load_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", f"the top level must be a mapping of sections "
                          f"(providers:, security:, ...), not a {type(data).__name__}")
    data = interpolate(data, str(path))
    origins = {key: str(path) for key in _leaf_keys(data)}
    return Layer(name, data, origins, where=str(path))


# What a repository's own config file may not do to the sandbox its commands run in: the
# project file comes with the code under work, so it is trusted to tighten, never to loosen.
RELAXING: dict[Key, Callable[[Any], bool]] = {
    ("security", "sandbox"): lambda value: value == "off",
    ("security", "allow_network"): lambda value: value is True,
    ("security", "allowed_env"): lambda value: bool(value),
    ("security", "enable_audit_log"): lambda value: value is False,
}


def refuse_relaxing(layer: Layer) -> Layer:
    """A project file that turns the sandbox off, lets commands reach the network, passes more
    variables in or turns the audit log off is an error: those belong to the user's own
    config (or ``--config``)."""
    for key, relaxes in RELAXING.items():
        value = _get(layer.data, key)
        if value is not None and relaxes(value):
            raise ConfigError(layer.origin(key) or layer.where, ".".join(key),
                              f"a project file cannot set {value!r}: it would loosen the "
                              "sandbox for the repository's own code; set it in your user "
                              "config (localagent config path) or pass --config FILE")
    return layer


def native_env_layer(environ: Mapping[str, str]) -> Layer:
    data: dict[str, Any] = {}
    origins: dict[Key, str] = {}
    for key, names in NATIVE_ENV.items():
        name = next((n for n in names if environ.get(n)), None)
        if name is None:
            continue
        value = environ[name]
        if name == "OLLAMA_HOST":
            value = ollama_url(value)
        _set(data, key, value)
        origins[key] = f"env {name}"
    return Layer("provider env", data, origins)


def ollama_url(host: str) -> str:
    """OLLAMA_HOST as Ollama reads it: ``host``, ``host:port`` or a URL; port 11434."""
    host = host.strip().rstrip("/")
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "http", host
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0"):]
    hostpart = rest.split("/", 1)[0]
    if ":" not in hostpart.rsplit("]", 1)[-1]:
        rest = rest.replace(hostpart, f"{hostpart}:11434", 1)
    return f"{scheme}://{rest}"


def env_layer(settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> Layer:
    # the prefix and delimiter are the settings class's own (no import of the schema here)
    prefix = str(settings_cls.model_config.get("env_prefix") or "")
    delimiter = str(settings_cls.model_config.get("env_nested_delimiter") or "__")
    source = EnvSettingsSource(settings_cls, env_prefix=prefix,
                               env_nested_delimiter=delimiter, case_sensitive=False)
    try:
        data = source()
    except Exception as exc:  # a malformed JSON value in a complex field
        raise _bad_json(environ, prefix, delimiter) or ConfigError(
            "env", "", str(exc)) from None
    upper = {name.upper() for name in environ}
    origins: dict[Key, str] = {}
    for key in _all_keys(data):
        name = prefix + delimiter.join(key).upper()
        if name in upper:
            origins[key] = f"env {name}"
    return Layer("env", data, origins)


def _bad_json(environ: Mapping[str, str], prefix: str, delimiter: str) -> ConfigError | None:
    import json

    for name, value in environ.items():
        if name.upper().startswith(prefix) and value.lstrip()[:1] in ("[", "{"):
            try:
                json.loads(value)
            except ValueError as exc:
                key = ".".join(name[len(prefix):].lower().split(delimiter))
                return ConfigError(f"env {name}", key, f"invalid JSON: {exc}")
    return None


def flags_layer(flags: dict[str, Any]) -> Layer:
    return Layer("flags", flags, {key: "command-line flag" for key in _leaf_keys(flags)})


def merge(layers: list[Layer], defaults: dict[str, Any]) -> tuple[dict[str, Any], dict[Key, str]]:
    """Merge layers low to high: mappings key by key, lists replaced except MERGED_LISTS."""
    merged: dict[str, Any] = {}
    provenance: dict[Key, str] = {}
    for layer in layers:
        _merge_into(merged, layer.data, (), defaults, provenance, layer)
    return merged, provenance


def _merge_into(target: dict[str, Any], incoming: dict[str, Any], key: Key,
                defaults: dict[str, Any], provenance: dict[Key, str], layer: Layer) -> None:
    for name, value in incoming.items():
        here = (*key, str(name))
        if isinstance(value, dict) and isinstance(target.setdefault(name, {}), dict):
            _merge_into(target[name], value, here, defaults, provenance, layer)
            if not value and (origin := layer.origin(here)):
                provenance.setdefault(here, origin)
            continue
        if here in MERGED_LISTS and isinstance(value, list):
            base = target.get(name)
            if base is None:
                base = _get(defaults, here) or []
            value = [*base, *(item for item in value if item not in base)]
        target[name] = value
        below = {k: v for k, v in layer.origins.items() if k[:len(here)] == here}
        origin = layer.origin(here)
        if below or origin:
            for old in [k for k in provenance if k[:len(here)] == here]:
                del provenance[old]
            provenance.update(below or {here: origin or layer.name})


class LayeredSource(PydanticBaseSettingsSource):
    """Files, provider-native variables and LOCALAGENT_* variables as one merged source."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.options = CURRENT.get() or LoadOptions()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        from localagent import paths

        options = self.options
        layers: list[Layer] = []
        if options.user_file and paths.user_config_file().is_file():
            layers.append(yaml_layer(paths.user_config_file(), "user file"))
        project = paths.project_config_file(options.cwd) if options.project_file else None
        if project is not None:
            layers.append(refuse_relaxing(yaml_layer(project, "project file")))
        if options.config_file is not None:
            if not options.config_file.is_file():
                raise ConfigError(str(options.config_file), "", "no such config file")
            layers.append(yaml_layer(options.config_file, "--config file"))
        layers.append(native_env_layer(os.environ))
        layers.append(env_layer(self.settings_cls, os.environ))
        if options.flags:
            layers.append(flags_layer(options.flags))
        defaults = self.settings_cls.model_construct().model_dump()
        merged, options.provenance = merge(layers, defaults)
        options.layers = layers
        return merged


def _set(data: dict[str, Any], key: Key, value: Any) -> None:
    for part in key[:-1]:
        data = data.setdefault(part, {})
    data[key[-1]] = value


def _get(data: dict[str, Any], key: Key) -> Any:
    for part in key:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _all_keys(data: dict[str, Any], key: Key = ()) -> list[Key]:
    keys: list[Key] = []
    for name, value in data.items():
        here = (*key, str(name))
        keys.append(here)
        if isinstance(value, dict):
            keys.extend(_all_keys(value, here))
    return keys


def _leaf_keys(data: dict[str, Any]) -> list[Key]:
    """Key paths of values that are not themselves non-empty mappings."""
    return [key for key in _all_keys(data)
            if not (isinstance(value := _get(data, key), dict) and value)]

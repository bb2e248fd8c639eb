"""Every configuration error names the file (or variable), the key path and the reason."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from localagent.config import ConfigError, Settings, load

# (YAML in the user file, the exact first problem; {file} is the file's path)
INVALID_FILES = [
    ("providers:\n  opneai: {}\n",
     "{file}: providers.opneai: unknown provider 'opneai' (did you mean 'openai'?)"),
    ("workflow:\n  max_paralel_agents: 3\n",
     "{file}: workflow.max_paralel_agents: unknown key 'max_paralel_agents' "
     "(did you mean 'max_parallel_agents'?)"),
    ("workflw:\n  max_iterations: 3\n",
     "{file}: workflw: unknown key 'workflw' (did you mean 'workflow'?)"),
    ("providers:\n  openai:\n    default_model: gpt-4o\n",
     "{file}: providers.openai.default_model: unknown key 'default_model' "
     "(did you mean 'model'?)"),
    ("workflow:\n  max_parallel_agents: 0\n",
     "{file}: workflow.max_parallel_agents: Input should be greater than or equal to 1 "
     "(got 0)"),
    ("workflow:\n  max_iterations: many\n",
     "{file}: workflow.max_iterations: Input should be a valid integer, unable to parse "
     "string as an integer (got 'many')"),
    ("workflow:\n  phases: [0, 3, 12]\n",
     "{file}: workflow.phases: phases are numbered 0..9, got [12]"),
    ("security:\n  key_store: vault\n",
     "{file}: security.key_store: Input should be 'auto', 'keyring' or 'file' (got 'vault')"),
    ("security:\n  command_timeout: -5\n",
     "{file}: security.command_timeout: Input should be greater than 0 (got -5)"),
    ("security:\n  deny_commands: ['rm (']\n",
     "{file}: security.deny_commands: 'rm (' is not a regular expression: missing ), "
     "unterminated subpattern at position 3"),
    ("security:\n  allowed_commands: pytest\n",
     "{file}: security.allowed_commands: Input should be a valid list (got 'pytest')"),
    ("logging:\n  level: loud\n",
     "{file}: logging.level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' "
     "(got 'LOUD')"),
    ("system:\n  default_provider: ollama,gemni\n",
     "{file}: system.default_provider: unknown provider 'gemni' (did you mean 'gemini'?)"),
    ("chains:\n  fast: [openai, olama]\n",
     "{file}: chains.fast: unknown provider 'olama' (did you mean 'ollama'?)"),
    ("providers:\n  ollama:\n    timeout: 0\n",
     "{file}: providers.ollama.timeout: Input should be greater than 0 (got 0)"),
    ("providers:\n  ollama:\n    policy:\n      retry:\n        max_retries: -1\n",
     "{file}: providers.ollama.policy.retry.max_retries: Input should be greater than or "
     "equal to 0 (got -1)"),
    ("providers:\n  ollama:\n    policy:\n      breaker:\n        treshold: 3\n",
     "{file}: providers.ollama.policy.breaker.treshold: unknown key 'treshold' "
     "(did you mean 'failure_threshold'?)"),
    ("providers:\n  gemini:\n    api_key: ${NOT_SET_ANYWHERE}\n",
     "{file}: providers.gemini.api_key: ${NOT_SET_ANYWHERE} is not set and has no default "
     "(set it, or write ${NOT_SET_ANYWHERE:-default})"),
    ("caching:\n  ttl_seconds: -1\n",
     "{file}: caching.ttl_seconds: Input should be greater than 0 (got -1)"),
    ("prices:\n  gpt-x: {input: -1}\n",
     "{file}: prices.gpt-x.input: Input should be greater than or equal to 0 (got -1)"),
    ("plugins:\n  enabled_plugins: [x]\n",
     "{file}: plugins.enabled_plugins: unknown key 'enabled_plugins'; valid keys: disabled"),
    ("- providers\n- system\n",
     "{file}: the top level must be a mapping of sections (providers:, security:, ...), "
     "not a list"),
    ("workflow:\n  max_iterations: [1\n",
     "{file}:3:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ("workflow: {auto_approve: maybe}\n",
     "{file}: workflow.auto_approve: Input should be a valid boolean, unable to interpret "
     "input (got 'maybe')"),
    ("providers:\n  openai:\n    api_key: [not, a, string]\n",
     "{file}: providers.openai.api_key: Input should be a valid string"),
    ("workflow:\n  max_iterations: 1\n  # later...\n  max_iterations: 2\n",
     "{file}:4:3: max_iterations: duplicate key (first set on line 2); keep one"),
    ("system: {default_provider: local}\nsystem: {}\n",
     "{file}:2:1: system: duplicate key (first set on line 1); keep one"),
    ("providers:\n  ollama:\n    base_url: 12\n",
     "{file}: providers.ollama.base_url: Input should be a valid string (got 12)"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_FILES,
                         ids=[f"case{n}" for n in range(len(INVALID_FILES))])
def test_invalid_user_file(text: str, expected: str, tmp_path: Path) -> None:
    file = tmp_path / "config" / "config.yaml"
    file.parent.mkdir(parents=True)
    file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).split(" (and ")[0] == expected.replace("{file}", str(file))
    assert caught.value.exit_code == 2


def test_project_file_is_named(tmp_path: Path) -> None:
    file = tmp_path / ".localagent" / "config.yaml"
    file.parent.mkdir()
    file.write_text("security:\n  max_file_bytes: 10\n")
    with pytest.raises(ConfigError) as caught:
        load(cwd=tmp_path)
    assert str(caught.value) == (f"{file}: security.max_file_bytes: Input should be greater "
                                 f"than or equal to 1024 (got 10)")



@pytest.mark.parametrize(("text", "key"), [
    ("security:\n  sandbox: \"off\"\n", "security.sandbox"),
    ("security:\n  allow_network: true\n", "security.allow_network"),
    ("security:\n  allowed_env: [LD_PRELOAD]\n", "security.allowed_env"),
    ("security:\n  enable_audit_log: false\n", "security.enable_audit_log"),
])
def test_a_project_file_cannot_loosen_the_sandbox(tmp_path: Path, text: str, key: str) -> None:
    """The project file comes with the repository under work: its code must not be able to
    switch off the sandbox it runs in. The same values in the user file are the user's call."""
    file = tmp_path / "repo" / ".localagent" / "config.yaml"
    file.parent.mkdir(parents=True)
    file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(cwd=file.parent.parent)
    assert str(caught.value).startswith(f"{file}: {key}: a project file cannot set ")
    user = tmp_path / "config" / "config.yaml"
    user.parent.mkdir(exist_ok=True)
    user.write_text(text)
    file.unlink()
    assert load(cwd=file.parent.parent).settings  # allowed from the user's own file


def test_a_project_file_may_tighten_the_sandbox(tmp_path: Path) -> None:
    file = tmp_path / ".localagent" / "config.yaml"
    file.parent.mkdir()
    file.write_text("security:\n  sandbox: bwrap\n  allow_network: false\n"
                    "  sandbox_hide: [/srv/secrets]\n")
    settings = load(cwd=tmp_path).settings
    assert settings.security.sandbox == "bwrap" and "/srv/secrets" in settings.security.sandbox_hide

INVALID_ENV = [
    ("LOCALAGENT_WORKFLOW__MAX_ITERATIONS", "abc",
     "env LOCALAGENT_WORKFLOW__MAX_ITERATIONS: workflow.max_iterations: Input should be a "
     "valid integer, unable to parse string as an integer (got 'abc')"),
    ("LOCALAGENT_SECURITY__ALLOWED_COMMANDS", "[pytest",
     "env LOCALAGENT_SECURITY__ALLOWED_COMMANDS: security.allowed_commands: invalid JSON: "
     "Expecting value: line 1 column 2 (char 1)"),
    ("LOCALAGENT_SECURITY__KEYSTORE", "file",
     "env LOCALAGENT_SECURITY__KEYSTORE: security.keystore: unknown key 'keystore' "
     "(did you mean 'key_store'?)"),
    ("LOCALAGENT_PROVIDERS__OLAMA__MODEL", "llama3",
     "env LOCALAGENT_PROVIDERS__OLAMA__MODEL: providers.olama: unknown provider 'olama' "
     "(did you mean 'ollama'?)"),
]


@pytest.mark.parametrize(("name", "value", "expected"), INVALID_ENV)
def test_invalid_environment(name: str, value: str, expected: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == expected


def test_all_problems_are_listed(tmp_path: Path) -> None:
    file = tmp_path / "config" / "config.yaml"
    file.parent.mkdir()
    file.write_text("workflow:\n  max_iterations: -1\n  agent_step_limit: 0\n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).endswith("(and 1 more problem)")
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "workflow.max_iterations", "workflow.agent_step_limit"]


def test_a_secret_value_is_never_echoed(tmp_path: Path) -> None:
    file = tmp_path / "config" / "config.yaml"
    file.parent.mkdir()
    file.write_text("providers:\n  openai:\n    api_key: {nested: sk-secret-value-1234567890}\n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert "sk-secret" not in str(caught.value)


def test_missing_config_flag_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(config_file=tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: no such config file"


BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else 'lol'}]\n"
               for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True))


def test_an_alias_bomb_in_the_project_file_is_refused_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    file = tmp_path / ".localagent" / "config.yaml"
    file.parent.mkdir()
    file.write_text(BOMB)  # 9**9 values once expanded; read on every command from here
    script = Path(sys.executable).parent / "localagent"
    result = subprocess.run([str(script), "config", "show"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {file}: its anchors and aliases expand to more "
                                     "than 10000 values; write the values out or use fewer "
                                     "aliases")


def test_anchors_and_merge_keys_within_bounds_still_work(tmp_path: Path) -> None:
    file = tmp_path / "config" / "config.yaml"
    file.parent.mkdir()
    file.write_text("providers:\n  ollama: &base {timeout: 5}\n"
                    "  openai:\n    <<: *base\n    timeout: 7\n"
                    "chains:\n  fast: &two [ollama, openai]\n  slow: *two\n")
    settings = load().settings
    assert settings.providers["openai"].timeout == 7
    assert settings.chains["slow"] == ["ollama", "openai"]


def string_keys(model: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every configuration key that holds text (a provider's under ``openai``)."""
    import typing

    from pydantic import BaseModel, SecretStr

    keys: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        target = args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
            and len(args) == 1 else annotation
        if target in (str, SecretStr) or typing.get_origin(target) is typing.Literal:
            keys.append((*prefix, name))
        elif typing.get_origin(target) is list and typing.get_args(target)[0] is str:
            keys.append((*prefix, name, "[]"))
        elif typing.get_origin(target) is dict:
            value = typing.get_args(target)[1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                keys += string_keys(value, (*prefix, name, "openai"))
        elif isinstance(target, type) and issubclass(target, BaseModel):
            keys += string_keys(target, (*prefix, name))
    return keys


@pytest.mark.parametrize("key", string_keys(Settings), ids=".".join)
def test_a_number_where_text_belongs_is_an_error(key: tuple[str, ...], tmp_path: Path) -> None:
    value: Any = 12
    if key[-1] == "[]":
        key, value = key[:-1], [12]
    data: Any = value
    for part in reversed(key):
        data = {part: data}
    file = tmp_path / "config" / "config.yaml"
    file.parent.mkdir()
    file.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load()
    assert caught.value.where == str(file) and caught.value.key.startswith(".".join(key))

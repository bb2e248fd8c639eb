"""Layered configuration: precedence, interpolation, merge rules, provenance, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from localagent.config import load
from localagent.config.sections import DEFAULT_ALLOWED_COMMANDS, DEFAULT_DENY_COMMANDS


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "config.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose config sits at the root; the tests run from a subdirectory."""
    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    return root


def project_file(root: Path) -> Path:
    return root / ".localagent" / "config.yaml"


KEY = ("workflow", "max_iterations")


def test_defaults_without_any_file() -> None:
    loaded = load()
    assert loaded.settings.workflow.max_iterations == 2
    assert loaded.settings.default_chain() == ["ollama", "local"]
    assert loaded.origin(KEY) == "defaults"
    assert loaded.layers[-1].name == "env"


def test_each_layer_overrides_the_one_below(user_file: Path, project: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(user_file, "workflow:\n  max_iterations: 3\n")
    write(project_file(project), "workflow:\n  max_iterations: 4\n")
    cwd = project / "src" / "pkg"
    flags = {"workflow": {"max_iterations": 6}}
    monkeypatch.setenv("LOCALAGENT_WORKFLOW__MAX_ITERATIONS", "5")

    loaded = load(cwd=cwd, flags=flags)
    assert (loaded.settings.workflow.max_iterations, loaded.origin(KEY)) == (
        6, "command-line flag")
    loaded = load(cwd=cwd)
    assert (loaded.settings.workflow.max_iterations, loaded.origin(KEY)) == (
        5, "env LOCALAGENT_WORKFLOW__MAX_ITERATIONS")
    monkeypatch.delenv("LOCALAGENT_WORKFLOW__MAX_ITERATIONS")
    loaded = load(cwd=cwd)
    assert (loaded.settings.workflow.max_iterations, loaded.origin(KEY)) == (
        4, str(project_file(project)))
    loaded = load(cwd=project.parent)  # outside the project: only the user file
    assert (loaded.settings.workflow.max_iterations, loaded.origin(KEY)) == (3, str(user_file))


def test_config_flag_file_sits_above_project_and_below_env(
        tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project_file(project), "workflow: {max_iterations: 4, max_audit_loops: 2}\n")
    extra = write(tmp_path / "ci.yaml", "workflow: {max_iterations: 7}\n")
    loaded = load(cwd=project, config_file=extra)
    assert loaded.settings.workflow.max_iterations == 7
    assert loaded.settings.workflow.max_audit_loops == 2  # untouched keys merge through
    monkeypatch.setenv("LOCALAGENT_WORKFLOW__MAX_ITERATIONS", "1")
    assert load(cwd=project, config_file=extra).settings.workflow.max_iterations == 1


def test_sections_merge_key_by_key(user_file: Path, project: Path) -> None:
    write(user_file, "providers:\n  ollama:\n    base_url: http://box:11434\n    timeout: 30\n")
    write(project_file(project), "providers:\n  ollama:\n    model: qwen2.5\n")
    loaded = load(cwd=project)
    ollama = loaded.settings.providers["ollama"]
    assert (ollama.base_url, ollama.timeout, ollama.model) == ("http://box:11434", 30, "qwen2.5")
    assert loaded.origin(("providers", "ollama", "timeout")) == str(user_file)
    assert loaded.origin(("providers", "ollama", "model")) == str(project_file(project))
    assert loaded.origin(("providers", "ollama", "max_context")) == "defaults"


def test_plain_lists_replace_security_lists_accumulate(user_file: Path, project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write(user_file, "workflow: {phases: [0, 1, 2]}\n"
                     "security: {allowed_commands: [make lint], deny_commands: ['^npm publish']}\n")
    write(project_file(project), "workflow: {phases: [0, 2]}\n"
                                 "security: {allowed_commands: [just test], deny_commands: []}\n")
    monkeypatch.setenv("LOCALAGENT_SECURITY__ALLOWED_COMMANDS", '["bun test"]')
    settings = load(cwd=project).settings
    assert settings.workflow.phases == [0, 2]
    assert settings.security.allowed_commands == [*DEFAULT_ALLOWED_COMMANDS, "make lint",
                                                  "just test", "bun test"]
    # an empty list in a higher layer cannot drop a deny pattern
    assert settings.security.deny_commands == [*DEFAULT_DENY_COMMANDS, "^npm publish"]


def test_interpolation(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "gpu-box")
    monkeypatch.setenv("EMPTY", "")
    write(user_file, """\
providers:
  ollama:
    base_url: http://${HOST}:11434
    model: ${MODEL:-llama3.2}
  openai:
    base_url: ${EMPTY:-https://api.example/v1}
    model: "${EMPTY-kept-empty}"
system:
  default_provider: "ollama,local"
workflow:
  checks: ["echo $${HOME}", "${UNSET_ONE:-pytest -q}"]
  max_iterations: ${ITER:-4}
""")
    settings = load().settings
    assert settings.providers["ollama"].base_url == "http://gpu-box:11434"
    assert settings.providers["ollama"].model == "llama3.2"
    assert settings.providers["openai"].base_url == "https://api.example/v1"
    assert settings.providers["openai"].model == ""
    assert settings.workflow.checks == ["echo ${HOME}", "pytest -q"]
    assert settings.workflow.max_iterations == 4


def test_provider_native_variables(monkeypatch: pytest.MonkeyPatch, user_file: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-native-openai-000000000000")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy/v1")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-second-choice")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-first-choice")
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-from-long-name")
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:9999")
    write(user_file, "providers:\n  ollama:\n    base_url: http://file:11434\n")
    loaded = load()
    providers = loaded.settings.providers
    assert providers["openai"].api_key.get_secret_value() == "sk-native-openai-000000000000"
    assert providers["openai"].base_url == "http://proxy/v1"
    assert providers["gemini"].api_key.get_secret_value() == "google-first-choice"
    assert providers["perplexity"].api_key.get_secret_value() == "pplx-from-long-name"
    assert providers["ollama"].base_url == "http://127.0.0.1:9999"  # env beats the file
    assert loaded.origin(("providers", "gemini", "api_key")) == "env GOOGLE_API_KEY"
    # LOCALAGENT_* beats the provider's own variable
    monkeypatch.setenv("LOCALAGENT_PROVIDERS__OPENAI__BASE_URL", "http://ours/v1")
    assert load().settings.providers["openai"].base_url == "http://ours/v1"


@pytest.mark.parametrize(("host", "url"), [
    ("localhost", "http://localhost:11434"),
    ("gpu:8080", "http://gpu:8080"),
    ("https://ollama.example.com", "https://ollama.example.com:11434"),
    ("http://10.0.0.2:11434/", "http://10.0.0.2:11434"),
])
def test_ollama_host_forms(host: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert load().settings.providers["ollama"].base_url == url


def test_providers_config_for_the_provider_layer(user_file: Path) -> None:
    write(user_file, """\
chains: {fast: ["openai:gpt-4o-mini", local]}
system: {default_provider: fast}
performance: {deadline: 42}
caching: {enabled: false}
""")
    config = load().settings.providers_config()
    assert config.default_chain == ["fast"]
    assert config.chains == {"fast": ["openai:gpt-4o-mini", "local"]}
    assert config.deadline == 42
    assert config.cache.enabled is False


def test_public_dump_never_holds_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-appear-0000000000")
    dumped = load().settings.public_dump()
    assert "api_key" not in dumped["providers"]["openai"]
    assert "sk-should-not-appear" not in repr(dumped)


def test_loading_leaves_the_plugin_registry_to_the_edge(user_file: Path) -> None:
    """``load`` only reads; the CLI (its edge) applies ``plugins.disabled`` to the registry."""
    from localagent.cli.state import AppState
    from providers.registry import ProviderUnavailable, disable, get_plugin

    write(user_file, "plugins:\n  disabled: [exploding]\n")
    disable([])
    try:
        assert load().settings.plugins.disabled == ["exploding"]
        with pytest.raises(ProviderUnavailable, match="unknown provider 'exploding'"):
            get_plugin("exploding")
        AppState().load()
        with pytest.raises(ProviderUnavailable, match="'exploding' is disabled"):
            get_plugin("exploding")
    finally:
        disable([])

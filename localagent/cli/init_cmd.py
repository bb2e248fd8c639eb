"""``localagent init``: write a starter config (asks, or takes flags with --non-interactive)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import typer

from localagent.cli.state import fail, info, is_interactive, state

KEYED_PROVIDERS = ("openai", "gemini", "perplexity")
HEADER = """\
# LocalAgent configuration ({scope}).
# Layers, lowest to highest: defaults < ~/.config/localagent/config.yaml
#   < .localagent/config.yaml (project) < LOCALAGENT_* env < command-line flags.
# Values may use ${{VAR}} or ${{VAR:-default}}. Keep API keys out of this file:
#   localagent keys set openai
# See every key and its current value with: localagent config show --sources
"""


def _ollama_reachable(timeout: float = 0.5) -> bool:
    import os

    import httpx

    from localagent.config.sources import ollama_url

    url = ollama_url(os.environ.get("OLLAMA_HOST", "127.0.0.1:11434"))
    try:
        return httpx.get(f"{url}/api/tags", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _ask(ctx: typer.Context, provider: str | None, auto_approve: bool | None,
         parallel: int | None) -> tuple[str, bool, int, dict[str, str]]:
    suggested = "ollama,local" if _ollama_reachable() else "local"
    info(ctx, f"Ollama {'is' if 'ollama' in suggested else 'is not'} reachable; "
              f"'local' is the embedded model that needs no server or key.")
    provider = provider or typer.prompt(
        "provider chain (e.g. ollama,local or openai:gpt-4o-mini,local)", default=suggested)
    keys: dict[str, str] = {}
    named = {spec.partition(":")[0].strip().lower() for spec in provider.split(",")}
    for name in KEYED_PROVIDERS:
        if name in named and typer.confirm(f"store an API key for {name} now?", default=True):
            keys[name] = typer.prompt(f"key for {name}", hide_input=True)
    if auto_approve is None:
        auto_approve = typer.confirm("apply changes without asking (auto-approve)?",
                                     default=False)
    parallel = parallel or typer.prompt("agents to run in parallel", default=2, type=int)
    return provider, auto_approve, parallel, keys


def init(ctx: typer.Context,
         project: bool = typer.Option(False, "--project",
                                      help="write this project's config file instead of "
                                      "the user's"),
         non_interactive: bool = typer.Option(False, "--non-interactive",
                                              help="never ask; take flags and defaults"),
         auto_approve: bool = typer.Option(None, "--auto-approve/--no-auto-approve",
                                           help="apply changes without asking"),
         parallel: int = typer.Option(None, "--max-parallel", min=1, max=64, metavar="N",
                                      help="agents to run in parallel"),
         force: bool = typer.Option(False, "--force", help="replace an existing file")) -> None:
    """Create a starter configuration file (--provider: the default provider chain)."""
    from localagent import paths
    from localagent.atomic import atomic_write

    st = state(ctx)
    provider = st.provider
    target = (st.cwd / paths.PROJECT_DIR / paths.CONFIG_FILE) if project \
        else paths.user_config_file()
    if target.exists() and not force:
        fail(f"{target} already exists; use --force to replace it (a backup is kept)")
    keys: dict[str, str] = {}
    if non_interactive:
        chain, approve, agents = provider or "ollama,local", bool(auto_approve), parallel or 2
    elif not is_interactive():
        fail("init asks questions but there is no terminal; "
             "use 'localagent init --non-interactive'")
    else:
        chain, approve, agents, keys = _ask(ctx, provider, auto_approve, parallel)
    data: dict[str, Any] = {"system": {"default_provider": chain},
                            "workflow": {"auto_approve": approve, "max_parallel_agents": agents}}
    text = HEADER.format(scope="project" if project else "user") + _yaml(data)
    _validate(text, target)
    if target.exists():
        backup = target.with_name(f"{target.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(target, backup)
        info(ctx, f"previous config kept as {backup}")
    atomic_write(target, text)
    info(ctx, f"wrote {target}")
    if keys:
        from localagent.keys.manager import KeyManager

        manager = KeyManager(st.load().settings.security)
        for name, value in keys.items():
            manager.set(name, value)
        if manager.notice:
            info(ctx, manager.notice)
        info(ctx, f"stored keys for {', '.join(keys)}")


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False))


def _validate(text: str, target: Path) -> None:
    """Refuse to write a file that would not load (a bad --provider, say); the error names
    the file it would have been, not the scratch copy checked."""
    import tempfile

    from localagent.config.errors import ConfigError
    from localagent.config.loader import load

    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / target.name
        candidate.write_text(text)
        try:
            load(config_file=candidate, user_file=False, project_file=False)
        except ConfigError as exc:
            def named(text: str) -> str:
                return text.replace(str(candidate), str(target))

            raise ConfigError(named(exc.where), exc.key, named(exc.reason),
                              [named(problem) for problem in exc.problems]) from None

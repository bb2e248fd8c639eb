"""Subcommands imported only when they run (or their own help is asked for): the root's
``--help`` lists each with its one-line help, kept here, without importing its module."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Lazy:
    module: str  # under localagent.cli
    attribute: str  # a Typer app (a group) or a command function
    summary: str  # the root listing's line; a test checks it against the module's own
    hidden: bool = False
    help: str | None = None  # a command function's help, if not its docstring

    def load(self, name: str) -> Any:
        """The click command, made the way ``add_typer``/``command`` on the root would."""
        import typer
        import typer.main

        target = getattr(import_module(f"localagent.cli.{self.module}"), self.attribute)
        holder = typer.Typer()
        holder.callback()(lambda: None)  # a group, whatever the command is
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name, hidden=self.hidden, help=self.help)(target)
        return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]

    def placeholder(self, name: str) -> Any:
        """What the root's help shows for a command not loaded."""
        from typer.core import TyperCommand

        return TyperCommand(name, help=self.summary, hidden=self.hidden)


# In the order the root's help lists them.
COMMANDS: dict[str, Lazy] = {
    "chat": Lazy("chat_cmd", "chat", "Chat with the model: answers stream, history is kept "
                 "per thread. Type /help inside."),
    "health": Lazy("health_cmd", "health", "Check configuration, key store, providers, "
                   "checkpoints, cache, sandbox, disk space."),
    "doctor": Lazy("health_cmd", "health", "Check configuration, key store, providers, "
                   "checkpoints, cache, sandbox, disk space.", hidden=True),
    "init": Lazy("init_cmd", "init", "Create a starter configuration file (--provider: the "
                 "default provider chain)."),
    "serve": Lazy("server_cmd", "start", "Start the API server (= localagent server start).",
                  help="Start the API server (= localagent server start)."),
    "workflow": Lazy("workflow_cmd", "app", "Run the phase workflow on a codebase, resume it, "
                     "inspect threads."),
    "eval": Lazy("eval_cmd", "app", "Measure the workflow on a suite of tasks with hidden "
                 "checks: localagent eval SUITE [--baseline direct]; localagent eval compare "
                 "A B."),
    "providers": Lazy("providers_cmd", "app", "The model providers: what is known, configured "
                      "and reachable."),
    "models": Lazy("models_cmd", "app", "The embedded local model's file."),
    "cache": Lazy("cache_cmd", "app", "The response cache of model answers."),
    "plugins": Lazy("plugins_cmd", "app", "Provider plugins: built-in and installed."),
    "config": Lazy("config_cmd", "app", "Show, check and move the layered configuration."),
    "keys": Lazy("keys_cmd", "app",
                 "API keys: OS keyring when it is secure, else an encrypted file."),
    "server": Lazy("server_cmd", "app", "The API server: an OpenAI-compatible gateway and "
                   "the runs API."),
}

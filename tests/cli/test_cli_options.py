"""Global options before or after the subcommand, their bad values, --stream, and help text
that reads well at 80 columns on every command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer import _click as click

from localagent.cli.app import app
from localagent.cli.lazy import COMMANDS
from tests.cli_util import run, write_user_config

SCRIPT = str(Path(sys.executable).parent / "localagent")
GLOBAL = ["--config", "--working-dir", "-C", "--provider", "--format", "--log-level",
          "--debug", "--quiet", "-q"]


def commands() -> list[tuple[list[str], Any]]:
    """Every command's path and click object, groups included (hidden ones left out)."""
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append((path, command))
        if not hasattr(command, "list_commands"):
            return
        ctx = click.Context(command)
        for name in command.list_commands(ctx):  # the root's subcommands load here
            sub = command.get_command(ctx, name)
            if not sub.hidden:
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize("path", [path for path, _ in commands()[1:]],
                         ids=lambda path: " ".join(path))
def test_every_command_takes_the_global_options(path: list[str]) -> None:
    command = dict((tuple(p), c) for p, c in commands())[tuple(path)]
    opts = {opt for param in command.params for opt in param.opts}
    assert set(GLOBAL) <= opts


@pytest.mark.parametrize("args", [
    ["providers", "list"], ["config", "path"], ["keys", "list"], ["plugins", "list"],
    ["workflow", "list"], ["cache", "stats"], ["config", "show"],
])
def test_format_means_the_same_before_and_after_the_subcommand(args: list[str]) -> None:
    before = run("--format", "json", *args)
    after = run(*args, "--format", "json")
    assert before[0] == after[0] == 0
    assert json.loads(before[1]) == json.loads(after[1])


def test_every_global_option_works_after_the_subcommand(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".localagent").mkdir(parents=True)
    (project / ".localagent" / "config.yaml").write_text("workflow: {max_iterations: 1}\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text("workflow: {max_audit_loops: 3}\n")
    code, out, err = run("config", "show", "--format", "json", "-C", str(project),
                         "--config", str(extra), "--provider", "openai", "--log-level",
                         "debug", "--quiet")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["workflow"]["max_iterations"] == 1 and shown["workflow"]["max_audit_loops"] == 3
    assert shown["system"]["default_provider"] == "openai"
    assert shown["logging"]["level"] == "DEBUG"
    code, out, _ = run("config", "path", "--quiet", "--format", "yaml", "-C", str(project))
    assert f"path: {project / '.localagent' / 'config.yaml'}" in out
    # given in both places, the one after the subcommand wins, as the last flag does
    assert run("--format", "yaml", "config", "path", "--format", "json")[1].lstrip()[0] == "["


def test_debug_after_the_subcommand_shows_the_traceback(tmp_path: Path) -> None:
    write_user_config({"workflow": {"max_iterations": 99}})
    code, _, err = run("config", "show", "--debug")
    assert code == 2 and "Traceback" in err and "max_iterations" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--log-level", "LOUD", "config", "path"], "'LOUD' is not a log level"),
    (["config", "path", "--log-level", "LOUD"], "'LOUD' is not a log level"),
    (["--provider", "", "providers", "list"], "--provider"),
    (["providers", "health", "--provider", " "], "is empty"),
    (["--provider", "bogus:x", "providers", "list"], "unknown provider 'bogus'"),
    (["workflow", "run", "fix", "--provider", "bogus:x"], "unknown provider 'bogus'"),
    (["--format", "xml", "config", "path"], "'xml' is not a format"),
    (["keys", "get", "nosuch"], "no stored key named 'nosuch'"),
    (["keys", "delete", "nosuch", "--yes"], "no stored key named 'nosuch'"),
    (["workflow", "run", "fix", "--stream", "--format", "yaml"], "--stream prints JSON lines"),
    (["config", "show", "-C", "/no/such/dir"], "/no/such/dir is not a directory"),
])
def test_bad_option_values_exit_2_naming_the_problem(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2 and message in err, err


def test_stream_alone_prints_json_lines(tmp_path: Path, httpserver: Any) -> None:
    from tests.graph.test_workflow import model
    from tests.graph_fakes import scripted_provider

    scripted_provider(httpserver, model())
    (tmp_path / "calc.py").write_text("x = 1\n")
    code, out, err = run("workflow", "run", "look", "--stream", "--yes", "--phases", "0")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["event"] == "phase_started" and lines[-1]["status"] == "done"


def help_text(path: list[str]) -> str:
    result = subprocess.run([SCRIPT, *path, "--help"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "80", "TERM": "dumb"}, check=True)
    return result.stdout


@pytest.mark.parametrize("path", [path for path, _ in commands()],
                         ids=lambda path: " ".join(path) or "localagent")
def test_help_reads_well_at_80_columns(path: list[str]) -> None:
    text = help_text(path)
    assert text.strip()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text, text          # nothing cut
    assert "<bool>" not in text, text     # flags take no value
    assert not re.search(r"[{}]", text), text
    assert "``" not in text, text
    command = dict((tuple(p), c) for p, c in commands())[tuple(path)]
    for param in command.params:
        assert getattr(param, "help", None), f"{' '.join(path)}: {param.name} has no help"


def test_config_path_prints_paths() -> None:
    code, out, _ = run("config", "path")
    assert code == 0 and "True" not in out and "False" not in out
    user = next(line for line in out.splitlines() if line.startswith("user config"))
    assert user.split()[2] == str(Path(os.environ["LOCALAGENT_CONFIG_DIR"]) / "config.yaml")
    assert "(not created yet)" in user


def test_help_starts_without_the_heavy_modules() -> None:
    probe = ("import sys\nfrom localagent.cli.app import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = ('langgraph', 'langchain_core', 'providers', 'graph', 'nodes', "
             "'llama_cpp', 'pydantic_settings')\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    probe = "import sys, localagent.cli.app\nprint('rich' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_help_lists_the_subcommands_without_importing_them() -> None:
    probe = ("import sys\nfrom localagent.cli.app import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.endswith('_cmd')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"}, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    for name, lazy in COMMANDS.items():  # each line listed is the command's own
        assert f" {name} " in out or lazy.hidden
        loaded = lazy.load(name)
        own = loaded.short_help or (loaded.help or "").split("\n\n")[0]  # as typer lists it
        assert lazy.summary == " ".join(own.split()), name
        assert lazy.hidden == loaded.hidden, name


def test_version_answers_before_the_command_line_library_loads() -> None:
    probe = ("import sys\nfrom localagent.cli.entry import main\nmain(['--version'])\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'click'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    from localagent import __version__

    assert out == [f"localagent {__version__}", "[]"]
    script = Path(sys.executable).parent / "localagent"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, f"localagent {__version__}\n")

"""The workflow at a real terminal (scope edit in $EDITOR, paged diff, approval) and Ctrl-C
mid-run followed by `workflow resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from pytest_httpserver import HTTPServer

from tests.cli.test_cli_workflow import localagent, repo
from tests.cli_util import write_user_config
from tests.graph.test_workflow import BUGGY, FIXED, model
from tests.graph_fakes import Gate, call, scripted_provider
from tests.providers.test_local_model import gguf

pytestmark = pytest.mark.slow

__all__ = ["gguf", "repo"]
SCRIPT = str(Path(sys.executable).parent / "localagent")
# long enough that the diff does not fit the 14-line terminal and goes through the pager
LONG_FIX = FIXED + "".join(f"\n\ndef helper_{n}():\n    return {n}\n" for n in range(6))
EDITOR = """import sys, yaml
path = sys.argv[1]
scope = yaml.safe_load(open(path))
scope["goals"] = ["fix add", "edited in the editor"]
open(path, "w").write(yaml.safe_dump(scope))
"""


def test_scope_edit_paged_diff_and_approval_at_a_terminal(
        repo: Path, httpserver: HTTPServer, tmp_path: Path) -> None:
    turns = [("Your area", ["ok"]),
             ("fix the add function", [[call("propose_edit", path="calc.py", content=LONG_FIX)],
                                      "done"])]
    scripted_provider(httpserver, model(turns=turns))
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    env = {**os.environ, "EDITOR": f"{sys.executable} {editor}", "TERM": "xterm",
           "PAGER": "sed 's/^/PAGED /'", "COLUMNS": "100", "LINES": "14"}
    env.pop("MANPAGER", None)
    child = pexpect.spawn(SCRIPT, ["fix add", "-w", str(repo), "--thread", "tty1"], env=env,
                          encoding="utf-8", timeout=60, dimensions=(14, 100))
    try:
        child.expect("Proceed with this scope")
        child.sendline("e")
        child.expect("PAGED .*return a \\+ b")       # the diff, through the pager
        child.expect("Apply\\?")
        child.sendline("d")                          # show it again
        child.expect("PAGED .*helper_5")
        child.expect("Apply\\?")
        child.sendline("y")
        child.expect("done")
        child.expect("report: ")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert (repo / "calc.py").read_text() == LONG_FIX
    shown = subprocess.run([SCRIPT, "--format", "json", "workflow", "show", "tty1"],
                           capture_output=True, text=True, env=os.environ, check=True)
    assert json.loads(shown.stdout)["state"]["scope"]["goals"] == [
        "fix add", "edited in the editor"]


def interrupted(gate: Gate, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``localagent ARGS`` sent Ctrl-C (SIGINT) while the
    request ``gate`` holds is in flight."""
    proc = subprocess.Popen([SCRIPT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert gate.arrived.wait(60), "the run never reached the execute phase"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        gate.release.set()
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def test_ctrl_c_mid_run_leaves_a_thread_that_resume_finishes(
        repo: Path, httpserver: HTTPServer) -> None:
    scripted = model()
    gate = Gate("fix the add function")  # the execute branch's first model call
    scripted_provider(httpserver, scripted, gate)
    code, _out, err = interrupted(gate, "fix add", "-w", str(repo), "--yes", "--thread", "s1")
    assert code == 130, err
    assert "stopping…" in err
    assert "resume with:\n  localagent workflow resume s1" in err
    assert (repo / "calc.py").read_text() == BUGGY
    status = json.loads(localagent("--format", "json", "workflow", "status", "s1").stdout)
    assert status["status"] == "stopped" and status["next"]
    before = list(scripted.log)

    # no --yes here: the run's own --yes still holds, so the diff is not asked about
    finished = localagent("--format", "json", "workflow", "resume", "s1")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["status"] == "done"
    assert (repo / "calc.py").read_text() == FIXED
    after = scripted.log[len(before):]
    assert "Scope" not in after and "Plan" not in after  # finished phases did not run again
    assert "turn:Your area" not in after


def test_ctrl_c_with_json_output_prints_one_stopped_document(
        repo: Path, httpserver: HTTPServer) -> None:
    gate = Gate("fix the add function")
    scripted_provider(httpserver, model(), gate)
    code, out, err = interrupted(gate, "--format", "json", "fix add", "-w", str(repo), "--yes",
                                 "--thread", "j1")
    assert code == 130, err
    doc = json.loads(out)  # one document, nothing else on stdout
    assert doc["status"] == "stopped" and doc["exit_code"] == 130
    assert doc["resume_command"] == "localagent workflow resume j1"
    assert doc["phases"]["scope"]["status"] == "done"
    assert "stopping…" in err


def spawn_at_terminal(repo: Path, thread: str, *extra: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "PAGER": "cat", "COLUMNS": "100", "LINES": "40"}
    return pexpect.spawn(SCRIPT, ["fix add", "-w", str(repo), "--thread", thread, *extra],
                         env=env, encoding="utf-8", timeout=60, dimensions=(40, 100))


def test_the_first_ctrl_c_at_the_scope_question_stops(repo: Path,
                                                       httpserver: HTTPServer) -> None:
    scripted_provider(httpserver, model())
    child = spawn_at_terminal(repo, "q1")
    try:
        child.expect("Proceed with this scope")
        child.sendintr()
        child.expect("resume with:", timeout=10)
        child.expect("localagent workflow resume q1")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close()
    assert child.exitstatus == 130, child.before
    status = json.loads(localagent("--format", "json", "workflow", "status", "q1").stdout)
    assert status["status"] == "waiting" and status["waiting_for"]["type"] == "confirm_scope"


def test_the_first_ctrl_c_at_the_diff_question_stops(repo: Path,
                                                      httpserver: HTTPServer) -> None:
    scripted_provider(httpserver, model())
    child = spawn_at_terminal(repo, "q2", "--format", "json")
    try:
        child.expect("Proceed with this scope")
        child.sendline("y")
        child.expect("Apply\\?")
        child.sendintr()
        child.expect('"status": "stopped"', timeout=10)
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close()
    assert child.exitstatus == 130, child.before
    assert (repo / "calc.py").read_text() == BUGGY
    finished = localagent("--format", "json", "workflow", "resume", "q2", "--yes")
    assert finished.returncode == 0, finished.stderr
    assert (repo / "calc.py").read_text() == FIXED


def test_ctrl_c_while_the_embedded_model_generates(repo: Path, gguf: str) -> None:
    write_user_config({"system": {"default_provider": "local"},
                       "providers": {"local": {"model_path": gguf, "max_tokens": 4000}}})
    proc = subprocess.Popen([SCRIPT, "--format", "json", "fix add", "-w", str(repo), "--yes",
                             "--thread", "m1", "--stream"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # the scope phase asks the model
        assert first == {**first, "event": "phase_started", "phase": "scope"}
        time.sleep(3)  # loaded and generating
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert json.loads(out.splitlines()[-1])["status"] == "stopped"
    assert "stopping…" in err

"""The workflow at a real terminal (scope edit in $EDITOR, paged diff, approval) and Ctrl-C
mid-run followed by `workflow resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
from pytest_httpserver import HTTPServer

from tests.graph_fakes import Gate, call, scripted_provider
from tests.test_cli_workflow import localagent, repo
from tests.test_workflow import BUGGY, FIXED, model

__all__ = ["repo"]
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


def test_ctrl_c_mid_run_leaves_a_thread_that_resume_finishes(
        repo: Path, httpserver: HTTPServer) -> None:
    scripted = model()
    gate = Gate("fix the add function")  # the execute branch's first model call
    scripted_provider(httpserver, scripted, gate)
    proc = subprocess.Popen([SCRIPT, "fix add", "-w", str(repo), "--yes", "--thread", "s1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert gate.arrived.wait(60), "the run never reached the execute phase"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        gate.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "resume with:\n  localagent workflow resume s1" in err
    assert (repo / "calc.py").read_text() == BUGGY
    status = json.loads(localagent("--format", "json", "workflow", "status", "s1").stdout)
    assert status["status"] == "stopped" and status["next"]
    before = list(scripted.log)

    finished = localagent("--format", "json", "workflow", "resume", "s1", "--yes")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["status"] == "done"
    assert (repo / "calc.py").read_text() == FIXED
    after = scripted.log[len(before):]
    assert "Scope" not in after and "Plan" not in after  # finished phases did not run again
    assert "turn:Your area" not in after

"""Workflow threads in PostgreSQL (``system.checkpoint_url: postgresql://...``): the CLI's
run / list / show / status / resume, eight runs at once on one database, and kill -9 mid-run
then resume without repeating finished nodes. The machine's real PostgreSQL, a database of
this module's own; the model is a scripted OpenAI wire fake counting the calls it serves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.cli.test_cli_workflow import localagent
from tests.cli_util import write_user_config
from tests.graph.test_workflow import FIXED, make_repo, model
from tests.graph_fakes import Gate, PhaseModel, openai_handler
from tests.resume_worker import PLAN, SCOPE
from tests.services import postgres_url, threaded_server

__all__ = ["postgres_url", "threaded_server"]  # the fixtures
SPEC = "openai-compatible:scripted"


def configure(server: HTTPServer, scripted: PhaseModel, url: str,
              gate: Gate | None = None) -> None:
    server.expect_request("/v1/chat/completions").respond_with_handler(
        openai_handler(scripted, gate))
    write_user_config({
        "system": {"default_provider": SPEC, "checkpoint_url": url},
        "providers": {"openai-compatible": {"base_url": server.url_for("/v1"),
                                            "timeout": 60}}})


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_list_show_status_resume_on_postgres(
        tmp_path: Path, threaded_server: HTTPServer, postgres_url: str) -> None:
    scripted = model()
    configure(threaded_server, scripted, postgres_url)
    repo = make_repo(tmp_path / "repo")
    first = localagent("--format", "json", "fix add", "-w", str(repo), "--thread", "pg1")
    assert first.returncode == 3, first.stderr  # waiting for the scope, headless
    assert json.loads(first.stdout)["interrupt"]["type"] == "confirm_scope"
    assert not (Path(os.environ["LOCALAGENT_DATA_DIR"]) / "checkpoints.sqlite").exists()

    listed = as_json(localagent("--format", "json", "workflow", "list"))
    assert {row["thread"]: row["status"] for row in listed}["pg1"] == "waiting"
    shown = as_json(localagent("--format", "json", "workflow", "show", "pg1"))
    assert shown["waiting_for"]["type"] == "confirm_scope"
    assert shown["settings"]["provider"] == SPEC and shown["history"]

    done = as_json(localagent("--format", "json", "workflow", "resume", "pg1", "--yes"))
    assert done["status"] == "done" and (repo / "calc.py").read_text() == FIXED
    status = as_json(localagent("--format", "json", "workflow", "status", "pg1"))
    assert status["status"] == "done"
    report = localagent("workflow", "report", "pg1")
    assert report.returncode == 0 and "pg1" in report.stdout
    health = localagent("--format", "json", "health")
    check = next(c for c in json.loads(health.stdout) if c["check"] == "checkpoint db")
    assert check["status"] == "ok" and "PostgreSQL" in check["detail"]


@pytest.mark.slow
def test_eight_runs_at_once_on_one_database(
        tmp_path: Path, threaded_server: HTTPServer, postgres_url: str) -> None:
    configure(threaded_server, model(), postgres_url)
    threads = [f"many{i}" for i in range(8)]
    repos = [make_repo(tmp_path / thread) for thread in threads]

    def run(index: int) -> subprocess.CompletedProcess[str]:
        return localagent("--format", "json", "fix add", "-w", str(repos[index]), "--yes",
                          "--thread", threads[index], "--phases", "0,1,2,3,4,5", timeout=300)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    errors = [(r.returncode, r.stderr[-400:]) for r in results if r.returncode != 0]
    assert errors == []
    assert all(json.loads(r.stdout)["status"] == "done" for r in results)
    assert all((repo / "calc.py").read_text() == FIXED for repo in repos)
    listed = as_json(localagent("--format", "json", "workflow", "list", "-n", "50"))
    statuses = {row["thread"]: row["status"] for row in listed}
    assert {thread: statuses.get(thread) for thread in threads} == dict.fromkeys(
        threads, "done")


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_repeats_no_finished_node(
        tmp_path: Path, threaded_server: HTTPServer, postgres_url: str) -> None:
    scripted = PhaseModel(
        structured={"Scope": [SCOPE], "Plan": [PLAN],
                    "AgentFinding": [{"summary": "s", "findings": []}],
                    "AuditReport": [{"passed": True}], "DocUpdate": [{}],
                    "Readiness": [{"ready": True}]},
        turns=[("Your area", ["ok"]),
               ("stream a", [[{"name": "propose_edit",
                               "args": {"path": "a.txt", "content": "A\n"}}], "done"]),
               ("stream b", [[{"name": "propose_edit",
                               "args": {"path": "b.txt", "content": "B\n"}}], "done"])])
    gate = Gate("stream b")  # stream b's first turn is held until the run is killed
    configure(threaded_server, scripted, postgres_url, gate)
    ws = tmp_path / "ws"
    ws.mkdir()
    args = ["--format", "json", "write a and b", "-w", str(ws), "--yes", "--thread", "k1",
            "--phases", "0,1,2,3,4,5,6,8", "--max-iterations", "0"]
    script = Path(sys.executable).parent / "localagent"
    first = subprocess.Popen([str(script), *args], text=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=os.environ)
    try:
        deadline = time.monotonic() + 120
        # stream a finishes (two turns + its report) while stream b is held in its first turn
        while not gate.arrived.is_set() or Counter(scripted.log)["turn:stream a"] < 2 or \
                scripted.log.count("AgentFinding") < 3:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, scripted.log
            time.sleep(0.1)
        time.sleep(1.0)  # let the branch's writes reach the checkpoint
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
    finally:
        gate.release.set()
        if first.poll() is None:
            first.kill()
    while "turn:stream b" not in scripted.log:  # the held request, answered to nobody
        time.sleep(0.05)
    before = Counter(scripted.log)

    second = localagent("--format", "json", "workflow", "resume", "k1", "--yes", timeout=180)
    assert as_json(second)["status"] == "done"
    after = Counter(scripted.log) - before
    assert before["Scope"] == 1 and after["Scope"] == 0
    assert before["Plan"] == 1 and after["Plan"] == 0
    assert after["turn:Your area"] == 0 and after["turn:stream a"] == 0
    assert after["turn:stream b"] == 2  # b was cut off in its first turn, so it runs again
    assert (ws / "a.txt").read_text() == "A\n" and (ws / "b.txt").read_text() == "B\n"


def test_chat_history_lives_in_postgres(httpserver: HTTPServer, postgres_url: str) -> None:
    from tests.cli.test_cli_chat import chat, conversation, echo, requests, thread_of

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(echo)
    write_user_config({
        "system": {"default_provider": "openai-compatible:some-model",
                   "checkpoint_url": postgres_url},
        "providers": {"openai-compatible": {"base_url": httpserver.url_for("/v1"),
                                            "timeout": 30}}})
    code, _, err = chat(input="my name is Ada\n")
    assert code == 0, err
    first = thread_of(err)
    code, out, err = chat("-c", input="what is my name?\n")
    assert code == 0, err
    assert out == "echo: what is my name?\n"
    assert f"continuing thread {first} (2 messages)" in err
    assert conversation(requests(httpserver)[-1]) == [
        ("user", "my name is Ada"), ("assistant", "echo: my name is Ada"),
        ("user", "what is my name?")]
    assert not (Path(os.environ["LOCALAGENT_DATA_DIR"]) / "checkpoints.sqlite").exists()


def test_health_fails_on_a_database_that_does_not_answer(refused_url: str) -> None:
    from localagent.cli.health_cmd import check_checkpoints
    from localagent.config.schema import Settings

    url = refused_url.replace("http://", "postgresql://la:s3cretpw@") + "/x"
    check = check_checkpoints(Settings(system={"checkpoint_url": url}))
    assert check.status == "fail" and "s3cretpw" not in check.detail
    assert "la:***@127.0.0.1" in check.detail and "checkpoint_url" in check.hint


async def test_latest_threads_lists_the_newest_checkpoint_of_each_thread(
        postgres_url: str) -> None:
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    from localagent.checkpoints import latest_threads, open_saver
    from localagent.config.schema import Settings

    class Count(TypedDict):
        n: int

    builder = StateGraph(Count)
    builder.add_node("inc", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    async with open_saver(Settings(system={"checkpoint_url": postgres_url})) as saver:
        graph = builder.compile(checkpointer=saver)
        for thread, kind in [("lt-a", "g"), ("lt-b", "g"), ("lt-other", "h"), ("lt-c", "g")]:
            config: Any = {"configurable": {"thread_id": thread}, "metadata": {"graph": kind}}
            await graph.ainvoke({"n": 0}, config)
        await graph.ainvoke({"n": 5}, {"configurable": {"thread_id": "lt-a"},
                                       "metadata": {"graph": "g"}})  # a is the newest now
        latest = await latest_threads(saver, graph="g", limit=2)
        assert [t["thread_id"] for t in latest] == ["lt-a", "lt-c"]
        newest = await saver.aget_tuple({"configurable": {"thread_id": "lt-a"}})
        assert newest is not None and latest[0]["checkpoint_id"] == newest.checkpoint["id"]
        assert latest[0]["metadata"]["graph"] == "g" and latest[0]["ts"] == newest.checkpoint["ts"]
        assert {t["thread_id"] for t in await latest_threads(saver)} >= {
            "lt-a", "lt-b", "lt-c", "lt-other"}

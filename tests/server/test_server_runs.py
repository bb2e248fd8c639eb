"""The runs API over real HTTP: a uvicorn server in a thread, the runs on the CLI's checkpoint
database, the model the configured ``openai-compatible`` provider pointed at a local server
speaking the OpenAI wire protocol and answering from the workflow's phase scripts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from localagent.audit import AuditLog
from localagent.cli.app import app as cli_app
from tests.graph.test_workflow import BUGGY, FIXED, model, repo
from tests.graph_fakes import Gate, PhaseModel, scripted_provider
from tests.runs_server import make_app, serving
from tests.services import postgres_url

__all__ = ["postgres_url", "repo"]  # fixtures


@pytest.fixture
def scripted(httpserver: HTTPServer) -> PhaseModel:
    scripted = model()
    scripted_provider(httpserver, scripted)
    return scripted


@pytest.fixture
def api(repo: Path, scripted: PhaseModel) -> Iterator[httpx.Client]:
    """A client of the runs API whose one workspace root holds ``repo``."""
    with serving(make_app([repo.parent])) as url, httpx.Client(base_url=url,
                                                                 timeout=60) as client:
        yield client


def events(client: httpx.Client, run: str, after: int | None = None) -> list[dict[str, Any]]:
    """The run's SSE events until the stream ends (the leg waits, ends or stops); each with
    its SSE id as ``_id``."""
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    with connect_sse(client, "GET", f"/v1/runs/{run}/events", headers=headers) as source:
        assert source.response.status_code == 200
        return [{**json.loads(sse.data), "_id": sse.id} for sse in source.iter_sse()]


def start(client: httpx.Client, repo: Path, **body: Any) -> str:
    answer = client.post("/v1/runs", json={"request": "fix add", "workspace": str(repo),
                                           **body})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_a_run_asks_its_questions_through_the_api_and_finishes(
        api: httpx.Client, repo: Path, scripted: PhaseModel) -> None:
    run = start(api, repo)
    first = events(api, run)
    kinds = [e["event"] for e in first]
    assert kinds[0] == "run_status" and first[0]["status"] == "queued"
    assert {"event": "phase_started", "phase": "scope"} in [
        {k: e.get(k) for k in ("event", "phase")} for e in first]
    assert first[-1]["event"] == "run_status" and first[-1]["status"] == "waiting"
    assert first[-1]["interrupt"]["type"] == "confirm_scope"

    shown = api.get(f"/v1/runs/{run}").json()
    assert shown["status"] == "waiting" and shown["phase"] == "scope"
    assert shown["question"]["type"] == "confirm_scope"
    assert shown["question"]["scope"]["summary"] == "make add() add"

    # approving the scope: the run goes on to the diff and waits again
    assert api.post(f"/v1/runs/{run}/resume", json={"answer": True}).status_code == 202
    second = events(api, run, after=int(first[-1]["_id"]))
    assert int(second[0]["_id"]) == int(first[-1]["_id"]) + 1  # no event twice
    assert "branch_started" in [e["event"] for e in second]
    assert second[-1]["status"] == "waiting"
    assert second[-1]["interrupt"]["type"] == "approve_changes"
    diff = api.get(f"/v1/runs/{run}").json()["question"]
    assert diff["type"] == "approve_changes" and "+    return a + b" in diff["diff"]
    assert (repo / "calc.py").read_text() == BUGGY

    # a waiting run needs an answer; a running one cannot be resumed
    missing = api.post(f"/v1/runs/{run}/resume", json={})
    assert missing.status_code == 409 and "waiting for an answer" in missing.json()["detail"]

    assert api.post(f"/v1/runs/{run}/resume", json={"answer": "yes"}).status_code == 202
    last = events(api, run, after=int(second[-1]["_id"]))
    assert last[-1]["status"] == "done"
    assert "run_finished" in [e["event"] for e in last]
    assert (repo / "calc.py").read_text() == FIXED
    assert scripted.log.count("Scope") == 1 and scripted.log.count("Plan") == 1

    markdown = api.get(f"/v1/runs/{run}/report")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "```diff" in markdown.text
    report = api.get(f"/v1/runs/{run}/report", params={"format": "json"}).json()
    assert report["status"] == "done" and report["thread_id"] == run
    finished = api.post(f"/v1/runs/{run}/resume", json={"answer": True})
    assert finished.status_code == 409 and "has finished (done)" in finished.json()["detail"]
    audited = [(e["event"], e.get("thread")) for e in AuditLog().entries()]
    assert ("run_started", run) in audited and audited.count(("run_resumed", run)) == 2


def test_rejecting_the_diff_changes_nothing(api: httpx.Client, repo: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    run = start(api, repo)
    first = events(api, run)
    with ThreadPoolExecutor(4) as pool:  # one answer is taken, the others refused
        codes = list(pool.map(lambda _: api.post(f"/v1/runs/{run}/resume",
                                                 json={"answer": True}).status_code, range(4)))
    assert sorted(codes) == [202, 409, 409, 409]
    second = events(api, run, after=int(first[-1]["_id"]))
    assert second[-1]["interrupt"]["type"] == "approve_changes"
    assert api.post(f"/v1/runs/{run}/resume", json={"answer": False}).status_code == 202
    assert events(api, run, after=int(second[-1]["_id"]))[-1]["status"] == "rejected"
    assert api.get(f"/v1/runs/{run}").json()["status"] == "rejected"
    assert (repo / "calc.py").read_text() == BUGGY
    report = api.get(f"/v1/runs/{run}/report", params={"format": "json"}).json()
    assert report["status"] == "rejected" and report["applied"]["paths"] == []


def test_a_websocket_client_sees_the_same_events(api: httpx.Client, repo: Path) -> None:
    from websockets.sync.client import connect

    run = start(api, repo)
    url = str(api.base_url).replace("http://", "ws://") + f"/v1/runs/{run}/ws"
    with connect(url) as socket:
        received = [json.loads(str(message)) for message in socket]
    assert received[-1]["status"] == "waiting"
    replayed = events(api, run, after=-1)
    assert [{"id": int(e["_id"]), **{k: v for k, v in e.items() if k != "_id"}}
            for e in replayed] == received
    assert [e["event"] for e in received].count("phase_started") >= 1


@pytest.mark.parametrize(("where", "status", "message"), [
    ("/etc", 403, "outside server.workspace_roots"),
    ("{root}/link-out", 403, "outside server.workspace_roots"),
    ("relative/path", 400, "not an absolute path"),
    ("{root}/missing", 400, "not a directory"),
])
def test_a_workspace_outside_the_roots_is_refused(api: httpx.Client, repo: Path, where: str,
                                                  status: int, message: str) -> None:
    (repo.parent / "link-out").symlink_to("/usr")  # a symlink does not lead out
    answer = api.post("/v1/runs", json={"request": "fix add",
                                        "workspace": where.format(root=repo.parent)})
    assert answer.status_code == status and message in answer.json()["detail"]
    assert api.get("/v1/runs").json()["runs"] == []


def test_no_roots_means_the_runs_api_is_off(repo: Path, scripted: PhaseModel) -> None:
    with serving(make_app([])) as url:
        answer = httpx.post(f"{url}/v1/runs", json={"request": "x", "workspace": str(repo)})
        assert answer.status_code == 404 and "server.workspace_roots" in answer.text
        assert httpx.get(f"{url}/v1/runs").status_code == 404


def test_server_and_cli_see_each_others_threads(api: httpx.Client, repo: Path) -> None:
    runner = CliRunner()
    cli_run = runner.invoke(cli_app, ["--format", "json", "fix add", "-w", str(repo),
                                      "--thread", "from-cli"])
    assert cli_run.exit_code == 3, cli_run.output  # waits for the scope
    run = start(api, repo, thread_id="from-api")
    events(api, run)

    listed = {r["thread_id"]: r for r in api.get("/v1/runs").json()["runs"]}
    assert listed["from-cli"]["status"] == "waiting"
    assert listed["from-api"]["status"] == "waiting"
    assert listed["from-cli"]["workspace"] == str(repo.resolve())
    shown = api.get("/v1/runs/from-cli").json()
    assert shown["question"]["type"] == "confirm_scope"
    assert events(api, "from-cli")[0]["status"] == "waiting"

    listing = json.loads(runner.invoke(cli_app, ["--format", "json", "workflow", "list"]
                                       ).stdout)
    assert {(r["thread"], r["status"]) for r in listing} == {("from-cli", "waiting"),
                                                             ("from-api", "waiting")}
    # the CLI resumes what the server started, with the settings it started with
    resumed = runner.invoke(cli_app, ["--format", "json", "workflow", "resume", "from-api",
                                      "--yes"])
    assert resumed.exit_code == 0, resumed.output
    assert api.get("/v1/runs/from-api").json()["status"] == "done"
    taken = api.post("/v1/runs", json={"request": "again", "workspace": str(repo),
                                       "thread_id": "from-cli"})
    assert taken.status_code == 409
    assert api.get("/v1/runs/nope").status_code == 404


def test_cancel_stops_a_run_and_closes_it(api: httpx.Client, repo: Path) -> None:
    run = start(api, repo)
    events(api, run)
    cancelled = api.post(f"/v1/runs/{run}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["question"] is None
    report = api.get(f"/v1/runs/{run}/report", params={"format": "json"}).json()
    assert report["status"] == "cancelled" and report["thread_id"] == run
    again = api.post(f"/v1/runs/{run}/resume", json={"answer": True})
    assert again.status_code == 409
    assert api.post(f"/v1/runs/{run}/cancel").status_code == 409


def test_runs_beyond_the_cap_wait_in_the_queue(repo: Path, httpserver: HTTPServer) -> None:
    scripted = model()
    gate = Gate("first job")  # holds the first run's scope call
    scripted_provider(httpserver, scripted, gate)
    with serving(make_app([repo.parent], max_concurrent_runs=1)) as url, httpx.Client(
            base_url=url, timeout=60) as api:
        first = start(api, repo, request="first job")
        assert gate.arrived.wait(30)
        second = start(api, repo, request="second job")
        assert api.get(f"/v1/runs/{first}").json()["status"] == "running"
        assert api.get(f"/v1/runs/{second}").json()["status"] == "queued"
        listed = {r["thread_id"]: r["status"] for r in api.get("/v1/runs").json()["runs"]}
        assert listed == {first: "running", second: "queued"}
        assert scripted.log == []  # the second run has not called the model
        third = start(api, repo, request="third job")
        cancelled = api.post(f"/v1/runs/{third}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        gate.release.set()
        assert events(api, second)[-1]["status"] == "waiting"
        assert api.get(f"/v1/runs/{first}").json()["status"] == "waiting"
        assert api.get(f"/v1/runs/{third}").json()["status"] == "cancelled"
        assert scripted.log.count("Scope") == 2  # the cancelled run never started


def test_cancel_stops_a_run_in_the_middle_of_a_phase(repo: Path, httpserver: HTTPServer) -> None:
    scripted = model()
    gate = Gate("fix the add function")  # holds the execute branch
    scripted_provider(httpserver, scripted, gate)
    with serving(make_app([repo.parent])) as url, httpx.Client(base_url=url,
                                                               timeout=60) as api:
        run = start(api, repo, context={"auto_approve": True})
        assert gate.arrived.wait(60)
        assert api.get(f"/v1/runs/{run}").json()["phase"] == "execute"
        cancelled = api.post(f"/v1/runs/{run}/cancel").json()
        gate.release.set()
        assert cancelled["status"] == "cancelled" and cancelled["next"] == []
        assert events(api, run, after=0)[-1]["status"] == "cancelled"
        assert (repo / "calc.py").read_text() == BUGGY
        report = api.get(f"/v1/runs/{run}/report", params={"format": "json"}).json()
        assert report["status"] == "cancelled" and report["plan"]["streams"]


def test_a_thread_outside_the_roots_is_out_of_reach(repo: Path, scripted: PhaseModel,
                                                    tmp_path: Path) -> None:
    runner = CliRunner()
    outside = runner.invoke(cli_app, ["--format", "json", "fix add", "-w", str(repo),
                                      "--thread", "elsewhere"])
    assert outside.exit_code == 3, outside.output
    (tmp_path / "inside").mkdir()
    with serving(make_app([tmp_path / "inside"])) as url, httpx.Client(base_url=url) as api:
        assert api.get("/v1/runs").json()["runs"] == []
        for method, path in [("GET", ""), ("GET", "/events"), ("GET", "/report"),
                             ("POST", "/resume"), ("POST", "/cancel")]:
            answer = api.request(method, f"/v1/runs/elsewhere{path}",
                                 json={"answer": True} if method == "POST" else None)
            assert answer.status_code == 403, (path, answer.text)
    assert (repo / "calc.py").read_text() == BUGGY
    status = runner.invoke(cli_app, ["--format", "json", "workflow", "status", "elsewhere"])
    assert json.loads(status.stdout)["status"] == "waiting"


def test_runs_on_a_postgres_checkpoint_database(repo: Path, httpserver: HTTPServer,
                                                postgres_url: str) -> None:
    from tests.cli_util import write_user_config

    scripted = model()
    scripted_provider(httpserver, scripted)
    write_user_config({"system": {"default_provider": "openai-compatible:scripted",
                                  "checkpoint_url": postgres_url},
                       "providers": {"openai-compatible": {
                           "base_url": httpserver.url_for("/v1"), "timeout": 30}}})
    with serving(make_app([repo.parent])) as url, httpx.Client(base_url=url,
                                                               timeout=60) as api:
        run = start(api, repo, thread_id="on-pg")
        first = events(api, run)
        assert first[-1]["interrupt"]["type"] == "confirm_scope"
        api.post(f"/v1/runs/{run}/resume", json={"answer": True})
        assert events(api, run, after=int(first[-1]["_id"]))[-1]["interrupt"][
            "type"] == "approve_changes"
    listing = CliRunner().invoke(cli_app, ["--format", "json", "workflow", "list"])
    assert [(r["thread"], r["status"]) for r in json.loads(listing.stdout)] == [
        ("on-pg", "waiting")]
    assert not (Path(os.environ["LOCALAGENT_DATA_DIR"]) / "checkpoints.sqlite").exists()

"""`langgraph dev` serves the workflow: a thread, the scope interrupt, resume, final state.

The server is the real LangGraph dev server in a subprocess; its model is the configured
``openai-compatible`` provider pointed at a local server speaking the OpenAI wire protocol
and answering from the same phase scripts as the in-process workflow tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.graph.test_workflow import BUGGY, FIXED, make_repo, model
from tests.graph_fakes import scripted_provider

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BOOT_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev did not answer in {BOOT_SECONDS}s:\n{log.read_text()[-4000:]}")


def _config_at(home: Path) -> str:
    """The project's langgraph.json with its relative paths made absolute."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["graphs"] = {name: str(ROOT / spec) for name, spec in config["graphs"].items()}
    config["dependencies"] = [str(ROOT / dep) for dep in config["dependencies"]]
    if "http" in config:  # the server's app, mounted beside the graphs
        config["http"]["app"] = str(ROOT / config["http"]["app"])
    return json.dumps(config)


@pytest.fixture
def server(tmp_path: Path, httpserver: HTTPServer) -> Iterator[str]:
    scripted_provider(httpserver, model())
    yield from langgraph_dev(tmp_path, {"LOCALAGENT_WORKFLOW__AGENT_STEP_LIMIT": "5"})


def langgraph_dev(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``langgraph dev`` on a free port with the project's langgraph.json (absolute paths),
    its state kept out of the repository; yields its URL, stops it, prints its log's tail."""
    port, log = _free_port(), tmp_path / "langgraph-dev.log"
    home = tmp_path / "server"  # its .langgraph_api state stays out of the repository
    home.mkdir()
    (home / "langgraph.json").write_text(_config_at(home))
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false",
           **(extra_env or {})}
    langgraph = Path(sys.executable).parent / "langgraph"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(langgraph), "dev", "--no-browser", "--no-reload", "--port", str(port),
             "--config", str(home / "langgraph.json")],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(log.read_text()[-3000:])


def _interrupts(state: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(state.get("interrupts") or [])
    for task in state.get("tasks") or []:
        found.extend(task.get("interrupts") or [])
    return found


async def _assert_schemas(client: Any, workflow_id: str) -> None:
    """Studio's forms: input, output and state schemas for both graphs; the context schema
    shows each field's default, with the configured value where one is configured."""
    schemas = await client.assistants.get_schemas(workflow_id)
    assert set(schemas["input_schema"]["properties"]) == {"request", "workspace"}
    assert {"status", "report_path", "applied"} <= set(schemas["output_schema"]["properties"])
    assert {"scope", "plan", "activity"} <= set(schemas["state_schema"]["properties"])
    context = schemas["context_schema"]["properties"]
    assert context["agent_step_limit"]["default"] == 5  # configured
    assert context["max_parallel_agents"]["default"] == 2  # the config model's default
    assert context["auto_approve"]["default"] is False
    assert context["phases"]["default"] == list(range(10))
    agent = (await client.assistants.search(graph_id="agent"))[0]["assistant_id"]
    schemas = await client.assistants.get_schemas(agent)
    assert {"role", "task", "stream", "phase", "workspace"} == set(
        schemas["input_schema"]["properties"])
    assert {"result", "activity"} <= set(schemas["output_schema"]["properties"])
    assert {"messages", "steps"} <= set(schemas["state_schema"]["properties"])


async def test_workflow_runs_and_resumes_through_langgraph_dev(
        server: str, httpserver: HTTPServer, tmp_path: Path) -> None:
    from langgraph_sdk import get_client

    repo = make_repo(tmp_path / "repo")
    client = get_client(url=server)
    assistants = await client.assistants.search(graph_id="workflow")
    assert assistants, "langgraph dev does not serve the workflow graph"
    assert await client.assistants.search(graph_id="agent")
    assert await client.assistants.search(graph_id="chat")
    workflow_id = assistants[0]["assistant_id"]
    graph_info = await client.assistants.get_graph(workflow_id)
    assert {"draft_scope", "confirm_scope", "research", "plan", "execute", "validate",
            "audit", "document", "readiness"} <= {n["id"] for n in graph_info["nodes"]}
    # the agent subgraph is a real node: drawn with xray, listed as a subgraph
    drawn = {n["id"] for n in (await client.assistants.get_graph(workflow_id,
                                                                 xray=True))["nodes"]}
    assert {"research_agent:think", "execute_agent:act", "execute_agent:report"} <= drawn
    assert {"research_agent", "execute_agent"} <= set(
        await client.assistants.get_subgraphs(workflow_id))
    await _assert_schemas(client, workflow_id)

    thread = (await client.threads.create())["thread_id"]
    context = {"auto_approve": False, "max_parallel_agents": 2, "max_iterations": 1}
    await client.runs.wait(thread, "workflow", context=context,
                           input={"request": "fix add", "workspace": str(repo)})
    state = await client.threads.get_state(thread)
    pending = _interrupts(state)
    assert [i["value"]["type"] for i in pending][:1] == ["confirm_scope"]
    assert pending[0]["value"]["scope"]["summary"] == "make add() add"
    assert (repo / "calc.py").read_text() == BUGGY

    await client.runs.wait(thread, "workflow", context=context, command={"resume": True})
    state = await client.threads.get_state(thread)
    pending = _interrupts(state)
    assert pending[0]["value"]["type"] == "approve_changes"
    assert "+    return a + b" in pending[0]["value"]["diff"]

    await client.runs.wait(thread, "workflow", context=context,
                           command={"resume": {"approved": True}})
    state = await client.threads.get_state(thread)
    assert _interrupts(state) == [] and state["next"] == []
    assert state["values"]["status"] == "done"
    assert state["values"]["validation"]["passed"] is True
    assert (repo / "calc.py").read_text() == FIXED
    report = json.loads((repo / ".localagent" / "runs" / thread / "report.json").read_text())
    assert report["status"] == "done"
    # every model call went over the wire to the configured provider
    assert report["usage"]["model_calls"] == len(httpserver.log) > 0
    assert [p.split("@")[0] for p in report["usage"]["by_provider"]] == [
        "openai-compatible:scripted"]

"""The runs API: ``/v1/runs`` (start, list), ``/v1/runs/{id}`` (status, phase, pending
question), its progress events (SSE and WebSocket), resume, cancel and report."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from localagent.server.runs.errors import RunError, TooLarge
from localagent.server.runs.manager import RunManager

if TYPE_CHECKING:
    from localagent.config.schema import Settings

SCOPE: Literal["runs"] = "runs"


class RunContext(BaseModel):
    """What a run may vary (as the CLI's options); unset fields take the configured values."""

    model_config = ConfigDict(extra="forbid")
    provider: str | None = Field(None, description="provider spec or chain name")
    auto_approve: bool | None = None
    max_parallel_agents: int | None = Field(None, ge=1, le=64)
    max_iterations: int | None = Field(None, ge=0, le=10)
    agent_step_limit: int | None = Field(None, ge=1, le=100)
    phases: list[int] | None = Field(None, min_length=1)

    @field_validator("phases")
    @classmethod
    def _phases(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(p < 0 or p > 9 for p in value):
            raise ValueError("phases lie between 0 (scope) and 9 (readiness)")
        return sorted(set(value)) if value is not None else None


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: str = Field(min_length=1, description="what to do, in plain words")
    workspace: str = Field(description="absolute path of the codebase, under a workspace root")
    context: RunContext = Field(default_factory=RunContext)
    thread_id: str | None = Field(None, description="run id (default: new)")

    @field_validator("request")
    @classmethod
    def _request(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the request is empty: say what to do")
        return value

    @field_validator("thread_id")
    @classmethod
    def _thread(cls, value: str | None) -> str | None:
        from localagent.paths import is_thread_id

        if value is not None and not is_thread_id(value):
            raise ValueError("use letters, digits, '.', '_' and '-' (up to 128)")
        return value


class ResumeRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: bool | str | dict[str, Any] | None = Field(
        None, description="true (approve), false (reject), feedback text, or a dict")
    context: RunContext = Field(default_factory=RunContext)


def build_runs_router(require_scope: Callable[[Literal["runs"]], Any], *,
                      workspace_roots: list[Path] | None = None,
                      max_concurrent_runs: int | None = None,
                      settings: Settings | None = None, shutdown_grace: float | None = None,
                      manager: RunManager | None = None) -> APIRouter:
    """The runs API's routes, each behind ``require_scope("runs")``; what is not given comes
    from ``settings.server`` (``settings``: the loaded configuration by default). Its
    lifespan resumes the runs the last stop interrupted and, on shutdown, stops the runs
    under way at their last checkpoint (``manager.shutdown``; calling it earlier is fine)."""
    from graph.configured import load_configuration

    settings = manager.settings if manager is not None else settings or load_configuration()
    server = getattr(settings, "server", None)
    if shutdown_grace is None:
        shutdown_grace = float(getattr(server, "shutdown_grace", 10.0))
    if manager is None:
        manager = RunManager(
            settings,
            workspace_roots=list(getattr(server, "workspace_roots", []) if
                                 workspace_roots is None else workspace_roots),
            max_concurrent_runs=int(getattr(server, "max_concurrent_runs", 2) if
                                    max_concurrent_runs is None else max_concurrent_runs))
    runs = manager
    grace = shutdown_grace

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runs.resume_interrupted()
        yield
        await runs.shutdown(grace)

    router = APIRouter(prefix="/v1/runs", tags=["runs"], lifespan=lifespan,
                       dependencies=[Depends(require_scope(SCOPE))])

    @router.post("", status_code=201)
    async def start(body: StartRun) -> dict[str, Any]:
        """Start a run; its id is the thread id the CLI knows it by."""
        limit = runs.settings.security.max_message_chars
        if len(body.request) > limit:
            raise TooLarge(f"request: {len(body.request)} characters; "
                           f"security.max_message_chars is {limit}")
        workspace = runs.workspace(body.workspace)
        thread = body.thread_id or uuid.uuid4().hex[:12]
        context = runs.context(body.context.model_dump())
        await runs.start(thread, body.request, workspace, context)
        await _audit(runs, "run_started", thread=thread, workspace=str(workspace))
        return {"id": thread, "thread_id": thread, "status": "queued"}

    @router.get("")
    async def list_runs(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
        return {"runs": await runs.listing(limit)}

    @router.get("/{run_id}")
    async def show(run_id: str) -> dict[str, Any]:
        return await runs.describe(run_id)

    @router.post("/{run_id}/resume", status_code=202)
    async def resume(run_id: str, body: ResumeRun) -> dict[str, Any]:
        await runs.resume(run_id, body.answer, body.context.model_dump(exclude_none=True))
        await _audit(runs, "run_resumed", thread=run_id)
        return {"id": run_id, "thread_id": run_id, "status": "queued"}

    @router.post("/{run_id}/cancel")
    async def cancel(run_id: str) -> dict[str, Any]:
        return await runs.cancel(run_id)

    @router.get("/{run_id}/report", response_model=None)
    async def report(run_id: str, format: Literal["markdown", "json"] = "markdown",
                     accept: Annotated[str, Header()] = "") -> Response:
        as_json = format == "json" or accept.startswith("application/json")
        text = await runs.report(run_id, "json" if as_json else "markdown")
        if as_json:
            return JSONResponse(json.loads(text))
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    @router.get("/{run_id}/events", response_model=None)
    async def events(run_id: str, request: Request,
                     after: Annotated[int, Query(ge=-1)] = -1) -> Response:
        """Progress events as Server-Sent Events (``data``: the event as JSON, ``id``: its
        number; reconnect with ``Last-Event-ID`` or ``?after=N``), ending with the
        ``run_status`` event of the leg that ends (waiting, done, failed, stopped)."""
        from sse_starlette import EventSourceResponse

        last = request.headers.get("last-event-id", "")
        start = int(last) if last.isdigit() else after
        stream = await _follow(runs, run_id, start)

        async def sse() -> AsyncIterator[dict[str, str]]:
            async for number, event in stream:
                if await request.is_disconnected():
                    return
                yield {"data": json.dumps(event, default=str),
                       **({"id": str(number)} if number >= 0 else {})}

        return EventSourceResponse(sse(), ping=15)

    @router.websocket("/{run_id}/ws")
    async def socket(websocket: WebSocket, run_id: str, after: int = -1) -> None:
        """The same events as JSON messages (``id`` added), then the socket closes."""
        from starlette.websockets import WebSocketDisconnect

        try:
            stream = await _follow(runs, run_id, after)
        except RunError as exc:  # close codes 4000 + the HTTP status
            await websocket.close(code=4000 + exc.status, reason=str(exc)[:120])
            return
        await websocket.accept()
        try:
            async for number, event in stream:
                await websocket.send_json({"id": number, **event} if number >= 0 else event)
            await websocket.close()
        except WebSocketDisconnect:
            pass

    return router


async def _follow(runs: RunManager, thread: str, after: int
                  ) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """The thread's events (see ``RunLog.follow``) once ``describe`` has found it (404, 403
    raised before any event); when there is nothing to replay or wait for (a thread the CLI
    ran, or a leg that ended before ``after``), one ``run_status`` event numbered -1."""
    doc = await runs.describe(thread)

    async def stream() -> AsyncIterator[tuple[int, dict[str, Any]]]:
        run = runs.log_of(thread)
        sent = False
        if run is not None:
            async for item in run.follow(after):
                sent = True
                yield item
        if not sent:
            yield -1, {"event": "run_status", "thread_id": thread, "status": doc["status"],
                       **({"interrupt": doc["question"]} if doc.get("question") else {})}

    return stream()


async def _audit(runs: RunManager, event: str, **fields: Any) -> None:
    import asyncio

    from localagent.audit import AuditLog

    log = AuditLog(enabled=runs.settings.security.enable_audit_log)
    await asyncio.to_thread(log.record, event, **fields)  # a file write, off the loop

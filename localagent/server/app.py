"""``create_app``: the server's ASGI app (the gateway, the runs API when configured, health).

``localagent server start`` serves it with uvicorn; ``langgraph.json`` mounts the same app
(``localagent/server/served.py``) so ``langgraph dev`` and Studio users get its routes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localagent import __version__
from localagent.server.auth import Authenticator
from localagent.server.errors import ApiError, bad_request, too_large
from localagent.server.keys import KeyStore

if TYPE_CHECKING:
    from localagent.audit import AuditLog
    from localagent.config.schema import Settings

EXPOSED_HEADERS = ["x-localagent-provider", "x-localagent-attempts", "x-localagent-cached",
                   "retry-after"]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a request body over ``limit`` bytes, declared or streamed (chunked)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _send_error(send, too_large(
                    f"the request body ({int(value)} bytes) is over the server's limit of "
                    f"{self.limit} bytes (server.max_body_bytes)"))
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


async def _send_error(send: Send, error: ApiError) -> None:
    response = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def create_app(settings: Settings, *, keys: KeyStore | None = None,
               audit: AuditLog | None = None) -> FastAPI:
    """The app for ``settings``; ``keys`` and ``audit`` default to the user data dir's."""
    from localagent.audit import AuditLog
    from localagent.server.gateway import build_gateway_router

    server = settings.server
    auth = Authenticator(server, keys or KeyStore.default(),
                         audit or AuditLog(enabled=settings.security.enable_audit_log))
    app = FastAPI(title="LocalAgent", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.auth = auth
    app.state.settings = settings

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        error = too_large(f"the request body is over the server's limit of "
                          f"{server.max_body_bytes} bytes (server.max_body_bytes)")
        return JSONResponse(error.body(), status_code=413)

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        error = bad_request(f"{where}: {first['msg']}", param=where)
        return JSONResponse(error.body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        error = ApiError(exc.status_code, str(exc.detail), kind, None)
        return JSONResponse(error.body(), status_code=exc.status_code,
                            headers=dict(exc.headers or {}))

    gateway = build_gateway_router(settings, auth.require_scope)
    app.include_router(gateway)
    if server.workspace_roots:  # else the runs API is off
        from localagent.server.runs import build_runs_router

        app.include_router(build_runs_router(auth.require_scope, settings=settings))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        await auth.identify(request)  # any valid key: it says nothing a caller could misuse
        from localagent.server.ready import readiness

        report = await asyncio.to_thread(readiness, settings, gateway.model_table)  # type: ignore[attr-defined]
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    from localagent.server.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware

    metrics = Metrics()

    @app.get("/metrics")
    async def metrics_text(request: Request) -> Response:
        if server.metrics_auth:
            await auth.identify(request)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    if server.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=server.cors_origins,
                           allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["authorization", "content-type"],
                           expose_headers=EXPOSED_HEADERS)
    app.add_middleware(BodyLimit, limit=server.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


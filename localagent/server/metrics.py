"""``/metrics`` in Prometheus' text format: requests by route and status, time to the
response's start, streams in flight. One registry per app, so two apps never share
counters."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("localagent_server_requests", "HTTP requests answered",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("localagent_server_response_start_seconds",
                                 "seconds from a request to its response's first byte",
                                 ["route"], registry=self.registry)
        self.in_flight = Gauge("localagent_server_responses_in_flight",
                               "responses started and not finished (open streams)",
                               registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP request by its route template (never its raw path: ids and junk
    would grow the label set without bound)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        metrics = self.metrics
        metrics.in_flight.inc()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                metrics.latency.labels(_route(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            metrics.in_flight.dec()
            metrics.requests.labels(_route(scope), str(status["code"])).inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")

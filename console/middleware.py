"""One ASGI middleware: refuse oversized bodies with 413 and count requests for /metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_BODY_LIMIT = 4 * 1024 * 1024
#: Multipart overhead allowed on top of the evidence size limit for trace uploads.
UPLOAD_SLACK = 64 * 1024


class BodyTooLarge(Exception):
    pass


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("leakguard_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("leakguard_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics, trace_limit: int) -> None:
        self.app, self.metrics, self.trace_limit = app, metrics, trace_limit

    def _limit(self, scope: Scope) -> int:
        if scope["path"] == "/api/v1/trace":
            return self.trace_limit + UPLOAD_SLACK
        return DEFAULT_BODY_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, status, started = self._limit(scope), [500], time.perf_counter()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            self._count(scope, 413, started)
            return
        received = [0]

        async def limited_receive() -> Message:
            message = await receive()
            received[0] += len(message.get("body", b""))
            if received[0] > limit:
                raise BodyTooLarge
            return message

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, recording_send)
        except BodyTooLarge:
            await _too_large(send, limit)
            status[0] = 413
        self._count(scope, status[0], started)

    def _count(self, scope: Scope, status: int, started: float) -> None:
        route: Any = scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.metrics.requests.labels(scope["method"], name, str(status)).inc()
        self.metrics.latency.labels(name).observe(time.perf_counter() - started)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

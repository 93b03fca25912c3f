"""Pure ASGI middleware (no per-request task overhead): request id, the body limit of every route (declared
and received bytes), request metrics and log."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.ids import new_id
from services.predictor.http.body import BodyLimits, CountedReceive, declared_length, too_large
from services.predictor.http.errors import api_error_response
from services.predictor.telemetry.metrics import PredictorMetrics

log = logging.getLogger(__name__)


class RouteLabels:
    """The route template of a path, for metrics; unknown paths share one label to bound cardinality."""

    def __init__(self, routes: Iterable[tuple[str, re.Pattern[str]]]) -> None:
        self._exact: dict[str, str] = {}
        self._templated: list[tuple[re.Pattern[str], str]] = []
        for template, pattern in routes:
            if "{" in template:
                self._templated.append((pattern, template))
            else:
                self._exact[template] = template

    def __call__(self, path: str) -> str:
        exact = self._exact.get(path)
        if exact is not None:
            return exact
        for pattern, template in self._templated:
            if pattern.match(path):
                return template
        return "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
            text = value.decode()
            if text.isprintable():
                return text
    return new_id()


class RequestContextMiddleware:
    """Tags each request with an id (header in and out), refuses oversized bodies on every route (413 from
    the declared length, or after at most the limit plus one read of a chunked body), records metrics."""

    def __init__(
        self, app: ASGIApp, metrics: PredictorMetrics, body_limits: BodyLimits, route_labels: RouteLabels
    ) -> None:
        self.app, self.metrics, self.body_limits, self.route_label = app, metrics, body_limits, route_labels
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        status = 500

        limit = self.body_limits(scope["path"])
        counted = CountedReceive(receive, limit)
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if counted.exceeded and not started_response:
                return  # the app gave up on a body over its limit: the 413 below answers instead
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            if declared_length(scope.get("headers", ())) > limit:
                await api_error_response(Request(scope, receive), too_large(limit))(scope, receive, send_with_id)
                return
            try:
                await self.app(scope, counted, send_with_id)
            except ClientDisconnect:
                if not counted.exceeded:
                    raise
            if counted.exceeded and not started_response:
                counted.exceeded = False  # let the 413 through
                await api_error_response(Request(scope, receive), too_large(limit))(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = self.route_label(scope["path"])
            self._record(route, scope["method"], status, seconds)
            if status >= 400:  # successes are counted, not logged: a log line costs more than a prediction
                log.info(
                    "request refused" if status < 500 else "request failed",
                    extra={
                        "request_id": request_id,
                        "route": route,
                        "method": scope["method"],
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    },
                )

    def _record(self, route: str, method: str, status: int, seconds: float) -> None:
        counter = self._counters.get((route, method, status))
        if counter is None:
            counter = self._counters[(route, method, status)] = self.metrics.requests.labels(route, method, str(status))
        timer = self._timers.get((route, method))
        if timer is None:
            timer = self._timers[(route, method)] = self.metrics.latency.labels(route, method)
        counter.inc()
        timer.observe(seconds)

"""`/metrics` in the Prometheus text format: what the workers did, counted in the database at scrape
time (cached a few seconds, so many scrapers cost one query set), beside the API's own requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.broker import QueueCollector
from service.storage.db import session_scope
from service.storage.gauges import WorkCounts, work_counts
from service.storage.tables import STATES

CACHE_S = 5.0
"""How long one reading of the database answers scrapes."""


class WorkCollector(Collector):
    """Cycles by state, cases replayed and errors by kind, from the database."""

    def __init__(self, *, cache_s: float = CACHE_S) -> None:
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._read: tuple[float, WorkCounts] | None = None

    def _counts(self) -> WorkCounts:
        with self._lock:
            now = time.monotonic()
            if self._read is None or now - self._read[0] >= self._cache_s:
                with session_scope() as session:
                    self._read = (now, work_counts(session))
            return self._read[1]

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        cycles = GaugeMetricFamily("turnout_cycles", "Cycles stored, by state", labels=["state"])
        for state in STATES:
            cycles.add_metric([state], counts.cycles_by_state.get(state, 0))
        yield cycles
        yield CounterMetricFamily("turnout_cases_replayed", "Completions stored with a final outcome",
                                  value=counts.cases_replayed)
        errors = CounterMetricFamily("turnout_completion_errors", "Completions that ended in an error, by kind",
                                     labels=["kind"])
        for kind, n in sorted(counts.errors_by_kind.items()):
            errors.add_metric([kind], n)
        yield errors


class _RequestMetrics:
    """Counts and times every request by route template and status, as plain ASGI: Starlette's
    `BaseHTTPMiddleware` would run each request's app in a task of its own, behind memory streams."""

    def __init__(self, app: ASGIApp, *, requests: Counter, durations: Histogram) -> None:
        self.app, self.requests, self.durations = app, requests, durations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting its response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # the template: bounded label values
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.durations.labels(scope["method"], route).observe(time.perf_counter() - started)


def install(app: FastAPI) -> None:
    """Serve `/metrics` on *app* from a registry of its own (an app per test, no global state)."""
    registry = CollectorRegistry()
    registry.register(WorkCollector())
    registry.register(QueueCollector(cache_s=CACHE_S))
    requests = Counter("turnout_api_requests", "API requests answered", ["method", "route", "status"],
                       registry=registry)
    durations = Histogram("turnout_api_request_seconds", "API request durations", ["method", "route"],
                          registry=registry)

    app.add_middleware(_RequestMetrics, requests=requests, durations=durations)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

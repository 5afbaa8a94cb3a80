"""Prometheus metrics. Job figures are read from the database at scrape time, because in
broker mode the jobs run in other processes; the database is the one place that sees them all."""
from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobs.records import JOB_STATES, Job, utcnow

WAIT_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
SCORING_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 3 * 3600.0)
WINDOW_S = 24 * 3600  # histograms cover jobs finished in the last day
# From a cached job poll (about a millisecond) to a large upload or PDF report.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)


def _histogram(name: str, doc: str, values: list[float],
               buckets: tuple[float, ...]) -> HistogramMetricFamily:
    cumulative = [(str(b), sum(1 for v in values if v <= b)) for b in buckets]
    cumulative.append(("+Inf", len(values)))
    return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=sum(values))


class JobCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily("tps_jobs", "Jobs by state", labels=["state"])
        since = utcnow().timestamp() - WINDOW_S
        with self._engine.connect() as conn:
            counts = dict(conn.execute(select(Job.state, func.count()).group_by(Job.state)).all())
            rows = conn.execute(
                select(Job.queued_at, Job.started_at, Job.finished_at)
                .where(Job.state == "succeeded", Job.started_at.is_not(None))
            ).all()
        for state in JOB_STATES:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        recent = [r for r in rows if r.finished_at and r.finished_at.timestamp() >= since]
        yield _histogram("tps_job_queue_wait_seconds", "Queued to (last) start, last 24 h",
                         [(r.started_at - r.queued_at).total_seconds() for r in recent],
                         WAIT_BUCKETS)
        yield _histogram("tps_job_scoring_seconds", "Start to finish of succeeded jobs, last 24 h",
                         [(r.finished_at - r.started_at).total_seconds() for r in recent],
                         SCORING_BUCKETS)


class ServiceMetrics:
    """One registry per app, so that several apps (tests) never clash on metric names. Its
    process figures (CPU, memory, open files, GC) are the serving process's own."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "tps_http_request_duration_seconds", "HTTP requests: seconds to the last byte",
            ["method", "route", "status"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.registry.register(JobCollector(engine))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)


class RequestTimer:
    """Plain ASGI middleware: it times each request without buffering or re-wrapping the
    streamed upload bodies, which Starlette's BaseHTTPMiddleware would route through a queue."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            # The router writes the matched route into the scope; its template, not the path,
            # keeps the label set small (no ids in labels).
            template = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started)

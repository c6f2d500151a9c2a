"""Prometheus metrics, each process in its own CollectorRegistry (never the global default).

``BackfillMetrics`` is the orchestrator's ``Observer`` (counters and the chunk-duration histogram,
fed as chunks complete) plus a collector that reads the request states at scrape time (queue
depth, requests by status, progress of the active requests). ``IngestMetrics`` is the ingestion
worker's ``IngestObserver`` plus its consumer lag, served by ``serve_metrics`` on its own port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from naia.app.stored import StoredCounter
from naia.domain.errors import NaiaError
from naia.domain.model import Chunk, RequestStatus, Verification, VerificationStatus
from naia.orchestrator.views import RequestView

log = logging.getLogger("naia.metrics")

CHUNK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
PI_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

DEPENDENCIES = ("kafka", "questdb", "redis")

Requests = Callable[[], list[RequestView]]
LagProbe = Callable[[], Mapping[tuple[str, int], int]]


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def serve_metrics(
    registry: CollectorRegistry, port: int, host: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``registry`` at http://host:port/metrics from a daemon thread."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics at http://%s:%d/metrics", host, port)
    return server, thread


class BackfillMetrics:
    """Metrics of a process running the orchestrator (``naia api``, ``naia backfill``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.values_read = Counter(
            "naia_values_read", "Values read from PI sources (before writing)", registry=r
        )
        self.values_written = Counter(
            "naia_values_written",
            "Values in committed chunks: written to DuckDB or published to Kafka",
            registry=r,
        )
        self.batches_written = Counter(
            "naia_batches_written", "Arrow batches in committed chunks", registry=r
        )
        self.chunks_completed = Counter(
            "naia_chunks_completed", "Chunks (chunks) committed", registry=r
        )
        self.chunks_failed = Counter(
            "naia_chunks_failed", "Chunks that failed for good (after their retries)", registry=r
        )
        self.chunk_retries = Counter(
            "naia_chunk_retries", "Chunk attempts that failed transiently and were retried",
            registry=r,
        )  # fmt: skip
        self.chunk_duration = Histogram(
            "naia_chunk_duration_seconds",
            "Wall time from a chunk's first read to its commit, retries included",
            buckets=CHUNK_BUCKETS,
            registry=r,
        )
        self.windows_verified = Counter(
            "naia_verify_windows_verified",
            "(point, window) pairs a verification found equal to the source's count",
            registry=r,
        )
        self.windows_mismatched = Counter(
            "naia_verify_windows_mismatched",
            "(point, window) pairs a verification found different from the source (or doubled)",
            registry=r,
        )
        self.verifications_failed = Counter(
            "naia_verify_failed", "Verifications that could not complete", registry=r
        )
        self.pi_request_duration = Histogram(
            "naia_pi_request_duration_seconds",
            "Latency of one request to a PI server (observe_pi_request)",
            labelnames=("connector",),
            buckets=PI_BUCKETS,
            registry=r,
        )
        ProcessCollector(namespace="naia", registry=r)

    def watch(self, requests: Requests, stored_counter: StoredCounter | None = None) -> None:
        """Also export the request states, read at scrape time from ``requests()``."""
        self.registry.register(RequestsCollector(requests, stored_counter))

    # Observer ---------------------------------------------------------------------------------
    def on_chunk_done(self, chunk: Chunk, values: int, batches: int, seconds: float) -> None:
        self.values_written.inc(values)
        self.batches_written.inc(batches)
        self.chunks_completed.inc()
        self.chunk_duration.observe(seconds)

    def on_chunk_failed(self, chunk: Chunk, error: Exception) -> None:
        self.chunks_failed.inc()

    def on_retry(self, chunk: Chunk) -> None:
        self.chunk_retries.inc()

    def on_values_read(self, n: int) -> None:
        self.values_read.inc(n)

    def on_verified(self, verification: Verification) -> None:
        if verification.status is VerificationStatus.FAILED:
            self.verifications_failed.inc()
        mismatched = len(verification.mismatches)
        self.windows_mismatched.inc(mismatched)
        self.windows_verified.inc(verification.windows_checked - mismatched)

    # Hook for connectors ----------------------------------------------------------------------
    def observe_pi_request(self, connector: str, seconds: float) -> None:
        """One PI request took ``seconds`` (a connector calls this; see docs/dashboard.md)."""
        self.pi_request_duration.labels(connector=connector).observe(seconds)

    def pi_request_observer(self, connector: str) -> Callable[[float], None]:
        """A ``seconds -> None`` callback bound to one connector, to hand to its HTTP client."""
        child = self.pi_request_duration.labels(connector=connector)
        return child.observe


class RequestsCollector:
    """Gauges computed from the orchestrator's request views at each scrape."""

    def __init__(self, requests: Requests, stored_counter: StoredCounter | None = None) -> None:
        self._requests = requests
        self._stored = stored_counter

    def collect(self) -> Iterable[Metric]:
        views = self._requests()
        yield from _state_gauges(views)
        active = [v for v in views if v.status.is_active]
        yield from _active_gauges(active)
        if self._stored is not None:
            yield self._stored_gauge(active)

    def _stored_gauge(self, active: list[RequestView]) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "naia_request_values_stored",
            "Values of an active request queryable in QuestDB (distributed mode)",
            labels=["request_id"],
        )
        assert self._stored is not None
        for view in active:
            try:
                stored = self._stored(view.points, view.start, view.end)
            except NaiaError as exc:
                log.debug("stored count of %s failed: %s", view.request_id, exc)
                continue
            gauge.add_metric([view.request_id], stored)
        return gauge


def _state_gauges(views: list[RequestView]) -> Iterator[GaugeMetricFamily]:
    by_status = GaugeMetricFamily("naia_requests", "Backfill requests by status", labels=["status"])
    for status in RequestStatus:
        by_status.add_metric([status.value], sum(1 for v in views if v.status is status))
    yield by_status
    queued = sum(1 for v in views if v.status is RequestStatus.QUEUED)
    yield GaugeMetricFamily("naia_queue_depth", "Requests waiting for the worker", value=queued)
    yield GaugeMetricFamily(
        "naia_failed_chunks",
        "Chunks currently recorded as failed, over all requests (retry-failed clears them)",
        value=sum(v.failed_chunks for v in views),
    )


def _active_gauges(active: list[RequestView]) -> Iterator[GaugeMetricFamily]:
    labels = ["request_id"]
    progress = GaugeMetricFamily(
        "naia_request_progress_percent", "Chunks done of an active request, %", labels=labels
    )
    rate = GaugeMetricFamily(
        "naia_request_values_per_second", "Average rate of an active request's run", labels=labels
    )
    eta = GaugeMetricFamily(
        "naia_request_eta_seconds", "Estimated time left of a running request", labels=labels
    )
    for view in active:
        progress.add_metric([view.request_id], view.progress)
        rate.add_metric([view.request_id], view.values_per_second or 0.0)
        if view.eta_seconds is not None:
            eta.add_metric([view.request_id], view.eta_seconds)
    return iter((progress, rate, eta))


class IngestMetrics:
    """Metrics of ``naia ingest``: values and messages ingested, dead letters, consumer lag."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.values = Counter(
            "naia_ingest_values", "Values written to every sink and committed", registry=r
        )
        self.messages = Counter(
            "naia_ingest_messages", "Kafka messages handled and committed", registry=r
        )
        self.commits = Counter(
            "naia_ingest_commits", "Poll → write → flush → commit cycles", registry=r
        )
        self.dead_letters = Counter(
            "naia_ingest_dead_letters", "Undecodable messages sent to the DLQ", registry=r
        )
        self.dependency_up = Gauge(
            "naia_ingest_dependency_up",
            "1 while the worker reaches the dependency (kafka, questdb, redis), 0 during an outage",
            labelnames=("dependency",),
            registry=r,
        )
        self.retries = Counter(
            "naia_ingest_retries",
            "Operations on a dependency that failed and were tried again after a wait",
            labelnames=("dependency",),
            registry=r,
        )
        for dependency in DEPENDENCIES:
            self.dependency_up.labels(dependency=dependency).set(1)
            self.retries.labels(dependency=dependency)
        ProcessCollector(namespace="naia", registry=r)

    def watch_lag(self, probe: LagProbe) -> None:
        """Export consumer lag per (topic, partition), asked of ``probe`` at each scrape."""
        self.registry.register(LagCollector(probe))

    def on_ingested(self, values: int, messages: int) -> None:
        self.values.inc(values)
        self.messages.inc(messages)
        self.commits.inc()

    def on_dead_letter(self) -> None:
        self.dead_letters.inc()

    def on_dependency(self, dependency: str, up: bool) -> None:
        self.dependency_up.labels(dependency=dependency).set(1 if up else 0)

    def on_retry(self, dependency: str) -> None:
        self.retries.labels(dependency=dependency).inc()


class LagCollector:
    """The consumer lag at scrape time. While Kafka is away a scrape must still answer at once
    (the dependency gauges matter most then): after a failed probe, scrapes go without the lag
    for ``hold_off_s``; the failure is logged once until a probe succeeds again."""

    def __init__(
        self,
        probe: LagProbe,
        hold_off_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._hold_off_s = hold_off_s
        self._clock = clock
        self._failed_at: float | None = None

    def _lags(self) -> Mapping[tuple[str, int], int]:
        failed_at = self._failed_at
        if failed_at is not None and self._clock() - failed_at < self._hold_off_s:
            return {}
        try:
            lags = self._probe()
        except Exception as exc:  # a scrape must not fail because Kafka is away
            if failed_at is None:
                log.warning("consumer lag unavailable (left out until Kafka answers): %s", exc)
            self._failed_at = self._clock()
            return {}
        self._failed_at = None
        return lags

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "naia_ingest_consumer_lag",
            "Messages not yet committed by the ingestion group (high watermark − committed)",
            labels=["topic", "partition"],
        )
        lags = self._lags()
        for (topic, partition), lag in sorted(lags.items()):
            gauge.add_metric([topic, str(partition)], lag)
        yield gauge

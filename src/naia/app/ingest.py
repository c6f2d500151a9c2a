"""Wiring of the ingestion worker: Kafka inbox → QuestDB + Redis sinks."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from naia.app.latest import RebuildHook
from naia.app.metrics import IngestMetrics, serve_metrics
from naia.app.settings import NaiaSettings
from naia.domain.errors import DependencyUnavailableError, TransientError
from naia.domain.ports import Sink
from naia.ingestion import IngestionWorker
from naia.kernel.backoff import Backoff
from naia.sinks.questdb.client import ensure_table
from naia.sinks.questdb.sink import QuestDbSink
from naia.sinks.redis.sink import RedisLatestSink
from naia.transports.kafka.inbox import KafkaInbox
from naia.transports.kafka.lag import KafkaLagProbe
from naia.transports.kafka.topics import ensure_topics

log = logging.getLogger("naia.ingest")


def build_worker(
    settings: NaiaSettings, metrics: IngestMetrics | None = None
) -> tuple[IngestionWorker, KafkaInbox, list[Sink]]:
    """The worker, its inbox and sinks; none of them needs its service up to be made."""
    inbox = KafkaInbox(settings.kafka)
    redis_sink = RedisLatestSink(settings.redis, on_empty=RebuildHook(settings.questdb))
    sinks: list[Sink] = [QuestDbSink(settings.questdb), redis_sink]
    ingest = settings.ingest
    worker = IngestionWorker(
        inbox, sinks, max_messages=ingest.max_messages, poll_timeout=ingest.poll_timeout_s,
        observer=metrics, backoff=Backoff(ingest.retry_base_delay_s, ingest.retry_max_delay_s),
    )  # fmt: skip
    return worker, inbox, sinks


def run_worker(settings: NaiaSettings, metrics_port: int | None = None) -> None:
    """Run until SIGTERM/SIGINT; the cycle in progress is flushed and committed before exit.

    Kafka, QuestDB and Redis may be down at start or go away while it runs: the worker waits
    for them (backoff, one warning per outage, ``naia_ingest_dependency_up``) and goes on.
    With ``metrics_port``, Prometheus metrics (values ingested, consumer lag…) are served at
    http://127.0.0.1:<metrics_port>/metrics.
    """
    metrics = IngestMetrics() if metrics_port is not None else None
    worker, inbox, sinks = build_worker(settings, metrics)
    closers = _serve(settings, metrics, metrics_port)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current cycle", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        topics = worker.call_until_available(
            "kafka", lambda: ensure_topics(settings.kafka, 5.0), stop
        )
        if topics and worker.call_until_available("questdb", lambda: _table(settings), stop):
            log.info(
                "ingesting %s + %s → QuestDB %s, Redis %s:%d",
                settings.kafka.datapoints_topic, settings.kafka.backfill_topic,
                settings.questdb.http_url, settings.redis.host, settings.redis.port,
            )  # fmt: skip
            worker.run(stop)
    finally:
        _within(CLOSE_TIMEOUT_S, "the clients", [inbox.close, *(s.close for s in sinks), *closers])


CLOSE_TIMEOUT_S = 15.0


def _table(settings: NaiaSettings) -> None:
    """The QuestDB table, made before the first message is taken (DependencyUnavailableError
    while QuestDB does not answer)."""
    try:
        ensure_table(settings.questdb)
    except TransientError as exc:
        raise DependencyUnavailableError("questdb", str(exc)) from exc


def _within(timeout: float, what: str, closers: list[Callable[[], None]]) -> None:
    """Run ``closers`` in order on a daemon thread for at most ``timeout`` s: librdkafka's
    consumer close may wait for a group coordinator that is gone, and a stopping worker must
    exit anyway (its uncommitted messages come again; the group drops the member after its
    session timeout)."""

    def close_all() -> None:
        for close in closers:
            close()

    thread = threading.Thread(target=close_all, name="naia-close", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("closing %s took over %.0f s (Kafka away?): exiting without it", what, timeout)


def _serve(
    settings: NaiaSettings, metrics: IngestMetrics | None, port: int | None
) -> list[Callable[[], None]]:
    """Serve ``metrics`` (with the consumer lag) on ``port``; returns what to close."""
    if metrics is None or port is None:
        return []
    probe = KafkaLagProbe(settings.kafka)
    metrics.watch_lag(probe)
    server, _ = serve_metrics(metrics.registry, port, settings.api.host)
    return [server.shutdown, server.server_close, probe.close]

"""Wiring of fleet fetching: the API's board (dispatch + progress) and `naia fetch`."""

from __future__ import annotations

import logging
import random
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from naia.app.metrics import CHUNK_BUCKETS, serve_metrics
from naia.app.settings import NaiaSettings
from naia.app.stored import CachedCounter, StoredCounter
from naia.domain.errors import TerminalError, TransientError
from naia.domain.fleet import FleetBoard, RequestDirectory, UnitFeed
from naia.domain.model import Chunk, ChunkWritten
from naia.domain.ports import ChunkWriter, StateStore
from naia.fetcher import Fetcher, FetcherConfig
from naia.kernel.backoff import Backoff
from naia.orchestrator import RetryPolicy

log = logging.getLogger("naia.fetcher")


class FetcherMetrics:
    """Metrics of `naia fetch` (a FetcherObserver), served with ``--metrics-port``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.units = Counter(
            "naia_fetch_units", "Units settled by this fetcher, by outcome (given_back: not "
            "settled, read again)", ["outcome"], registry=r,
        )  # fmt: skip
        self.values = Counter("naia_fetch_values_read", "Values read from PI", registry=r)
        self.retries = Counter("naia_fetch_retries", "Unit attempts retried", registry=r)
        self.seconds = Histogram("naia_fetch_unit_seconds", "Time to publish a unit",
                                 buckets=CHUNK_BUCKETS, registry=r)  # fmt: skip
        self.share = Gauge("naia_fetch_budget_share", "This fetcher's share of the fleet's "
                           "values/s budget (its unit partitions / all)", registry=r)  # fmt: skip
        ProcessCollector(namespace="naia", registry=r)

    def on_unit(self, kind: str, values: int, seconds: float) -> None:
        self.units.labels(kind).inc()
        if kind == "done":
            self.seconds.observe(seconds)

    def on_values_read(self, n: int) -> None:
        self.values.inc(n)

    def on_retry(self) -> None:
        self.retries.inc()

    def on_share(self, share: float) -> None:
        self.share.set(share)


class NoChunkWriter:
    """The API of a fleet writes no chunk: fetchers do."""

    def write_chunk(self, unit: Chunk, batches: object) -> ChunkWritten:
        raise TerminalError("with orchestrator.fetchers = fleet, `naia fetch` writes chunks")


def build_fleet_parts(
    settings: NaiaSettings,
) -> tuple[ChunkWriter, StateStore, FleetBoard, list[Callable[[], None]], StoredCounter]:
    from naia.sinks.questdb.client import ensure_table, stored_count
    from naia.stores.kafka.state import KafkaStateStore
    from naia.stores.kafka.units import KafkaFleetBoard
    from naia.transports.kafka.topics import ensure_topics

    ensure_topics(settings.kafka)
    ensure_table(settings.questdb)
    state = KafkaStateStore(settings.kafka)
    owner = settings.orchestrator.instance_id or f"api-{socket.gethostname()}"
    board = KafkaFleetBoard(settings.kafka, owner=owner)

    def counter(points: tuple[str, ...], start: datetime, end: datetime) -> int:
        return stored_count(settings.questdb, points, start, end)

    closers: list[Callable[[], None]] = [board.close, state.close]
    return NoChunkWriter(), state, board, closers, CachedCounter(counter)


def run_fetcher(
    settings: NaiaSettings, stop: threading.Event | None = None, metrics_port: int | None = None
) -> Fetcher | None:
    """Run `naia fetch` until SIGTERM/SIGINT (or ``stop``); the unit in hand is given back.
    Kafka away at the start: wait for it (backoff, one warning), as while running."""
    from naia.app.wiring import SourceCatalog
    from naia.stores.kafka.units import default_instance_id

    stop = stop or _on_signals()
    fetcher_id = settings.fetcher.instance_id or default_instance_id()
    parts = _connect(settings, fetcher_id, stop)
    if parts is None:
        return None
    feed, requests = parts
    o = settings.orchestrator
    config = FetcherConfig(
        retry=RetryPolicy(o.retry_attempts, o.retry_base_delay_s, o.retry_max_delay_s),
        fleet_rate_values_per_s=o.rate_limit_values_per_s,
        poll_timeout_s=settings.fetcher.poll_timeout_s,
    )
    metrics = FetcherMetrics()
    fetcher = Fetcher(feed, requests, SourceCatalog(settings), config, observer=metrics)
    closers: list[Callable[[], None]] = []
    if metrics_port is not None:
        server, _ = serve_metrics(metrics.registry, metrics_port, settings.api.host)
        closers += [server.shutdown, server.server_close]
    log.info("fetcher %s: units from %s (group %s) → %s", fetcher_id,
             settings.kafka.units_topic, settings.kafka.fetch_group,
             settings.kafka.backfill_topic)  # fmt: skip
    try:
        fetcher.run(stop)
    finally:
        feed.close()
        requests.close()
        for close in closers:
            close()
    return fetcher


def _connect(
    settings: NaiaSettings, fetcher_id: str, stop: threading.Event
) -> tuple[UnitFeed, RequestDirectory] | None:
    """The fetcher's Kafka clients, retried with backoff until Kafka answers (None: stopped)."""
    from naia.stores.kafka.units import KafkaRequestDirectory, KafkaUnitFeed
    from naia.transports.kafka.topics import ensure_topics

    backoff, rng, failures = Backoff(1.0, 30.0), random.Random(), 0
    while not stop.is_set():
        try:
            ensure_topics(settings.kafka)
            feed = KafkaUnitFeed(settings.kafka, fetcher_id)
            return feed, KafkaRequestDirectory(settings.kafka)
        except TransientError as exc:
            failures += 1
            if failures == 1:
                log.warning("fetcher %s: Kafka unavailable (%s); waiting for it", fetcher_id, exc)
            stop.wait(backoff.delay(failures, rng))
    return None


def _on_signals() -> threading.Event:
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: giving back the unit in hand and leaving the group", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop

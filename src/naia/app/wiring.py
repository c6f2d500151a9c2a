"""Wiring: settings → concrete adapters → an Orchestrator. The only place that picks adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from naia.app.metrics import BackfillMetrics
from naia.app.settings import NaiaSettings
from naia.app.stored import CachedCounter, StoredCounter
from naia.domain.errors import ConnectorUnavailableError
from naia.domain.model import ConnectorType, WindowGrid
from naia.domain.ports import (
    ChunkWriter,
    PointWindowTallies,
    Source,
    StateStore,
    StoreCounter,
    StoredCounts,
    StoreTallier,
)
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.orchestrator.fleet import FleetOrchestrator
from naia.planner import Limits
from naia.sources.afsdk import AfSdk, AfSdkSettings, AfSdkSource, load_sdk
from naia.sources.simulator import SimulatorSource

AfSdkLoader = Callable[[AfSdkSettings], AfSdk]


class SourceCatalog:
    """A SourceProvider over the connectors this installation can run."""

    def __init__(
        self,
        settings: NaiaSettings,
        afsdk_loader: AfSdkLoader | None = None,
        on_pi_request: Callable[[str], Callable[[float], None]] | None = None,
    ) -> None:
        """``on_pi_request(connector)`` gives a callback told each PI request's duration."""
        self._settings = settings
        self._on_pi_request = on_pi_request
        self._afsdk_loader = afsdk_loader or load_sdk
        self._afsdk: AfSdk | None = None
        self._lock = threading.Lock()

    def availability(self) -> dict[str, str | None]:
        """Connector type → None when available, else the reason it is not."""
        result: dict[str, str | None] = {}
        for connector in ConnectorType:
            try:
                self.check(connector)
                result[connector.value] = None
            except ConnectorUnavailableError as exc:
                result[connector.value] = str(exc)
        return result

    def check(self, connector_type: ConnectorType) -> None:
        if connector_type is ConnectorType.PI_WEB_API and self._settings.piwebapi is None:
            raise ConnectorUnavailableError(
                "PIWebApi is not configured in this installation: set [piwebapi] base_url and "
                "data_archive in the config file (or NAIA_PIWEBAPI__BASE_URL and "
                "NAIA_PIWEBAPI__DATA_ARCHIVE)"
            )
        if connector_type is ConnectorType.PI_AF_SDK:
            self._sdk()

    def _sdk(self) -> AfSdk:
        with self._lock:
            if self._afsdk is None:
                self._afsdk = self._afsdk_loader(self._settings.afsdk)
            return self._afsdk

    def open(self, connector_type: ConnectorType) -> Source:
        self.check(connector_type)
        if connector_type is ConnectorType.PI_WEB_API:
            from naia.sources.piwebapi import PiWebApiSource

            assert self._settings.piwebapi is not None
            observe = self._on_pi_request(connector_type.value) if self._on_pi_request else None
            return PiWebApiSource(self._settings.piwebapi, on_request=observe)
        if connector_type is ConnectorType.PI_AF_SDK:
            return AfSdkSource(self._settings.afsdk, self._sdk())
        return SimulatorSource(self._settings.simulator)


def _fleet_runtime(
    settings: NaiaSettings, sources: SourceCatalog, metrics: BackfillMetrics
) -> Runtime:
    """Distributed mode whose units are read by `naia fetch` processes (docs/operations.md)."""
    from naia.app.fleet import build_fleet_parts

    if settings.mode != "distributed":
        raise ConnectorUnavailableError(
            "orchestrator.fetchers = fleet needs mode = distributed (Kafka carries the units)"
        )
    writer, state, board, closers, counter = build_fleet_parts(settings)
    orchestrator = FleetOrchestrator(
        sources, writer, state, board, orchestrator_config(settings), observer=metrics,
        counter=QuestDbRows(settings),
    )  # fmt: skip
    metrics.watch(orchestrator.requests, counter)
    return Runtime(settings, orchestrator, sources, closers, counter, metrics)


def orchestrator_config(settings: NaiaSettings) -> OrchestratorConfig:
    o = settings.orchestrator
    return OrchestratorConfig(
        limits=Limits(o.max_points, o.max_chunks, o.points_per_unit),
        retry=RetryPolicy(o.retry_attempts, o.retry_base_delay_s, o.retry_max_delay_s),
        rate_limit_values_per_s=o.rate_limit_values_per_s,
        verify_on_complete=o.verify_on_complete,
        verify_settle=timedelta(seconds=o.verify_settle_s),
        verify_catch_up_s=o.verify_catch_up_s if settings.mode == "distributed" else 0.0,
    )


@dataclass
class Runtime:
    """Everything a process needs, built once from the settings."""

    settings: NaiaSettings
    orchestrator: Orchestrator
    sources: SourceCatalog
    closers: list[Callable[[], None]] = field(default_factory=list)
    stored_counter: StoredCounter | None = None
    metrics: BackfillMetrics = field(default_factory=BackfillMetrics)
    _closed: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.orchestrator.stop()
        for close in reversed(self.closers):
            close()


def build_runtime(settings: NaiaSettings) -> Runtime:
    metrics = BackfillMetrics()  # its own registry: several runtimes can live in one process
    sources = SourceCatalog(settings, on_pi_request=metrics.pi_request_observer)
    if settings.orchestrator.fetchers == "fleet":
        return _fleet_runtime(settings, sources, metrics)
    if settings.mode == "distributed":
        writer, state, closers, counter, rows = _distributed(settings)
    else:
        writer, state, closers, counter, rows = _embedded(settings)
    orchestrator = Orchestrator(
        sources, writer, state, orchestrator_config(settings), observer=metrics, counter=rows
    )
    metrics.watch(orchestrator.requests, counter)
    return Runtime(settings, orchestrator, sources, closers, counter, metrics)


_Parts = tuple[
    ChunkWriter,
    StateStore,
    list[Callable[[], None]],
    StoredCounter | None,
    StoreCounter | StoreTallier,
]


def _embedded(settings: NaiaSettings) -> _Parts:
    from naia.stores.duckdb import DuckDbStore

    store = DuckDbStore(
        settings.store.path,
        memory_limit=settings.store.memory_limit,
        recycle_values=settings.store.recycle_values,
    )
    return store, store, [store.close], None, store


class QuestDbRows:
    """The store's side of a verification in QuestDB: tallies (count and key fingerprint) per
    (point, window), then exact counts of the pairs whose tally differs (a StoreTallier)."""

    def __init__(self, settings: NaiaSettings) -> None:
        self._settings = settings.questdb

    def stored_counts(self, points: Sequence[str], grid: WindowGrid) -> StoredCounts:
        from naia.sinks.questdb.client import stored_counts

        return stored_counts(self._settings, points, grid)

    def stored_tallies(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        from naia.sinks.questdb.client import stored_tallies

        return stored_tallies(self._settings, points, grid)

    def exact_counts(self, grid: WindowGrid, pairs: Collection[tuple[str, int]]) -> StoredCounts:
        from naia.sinks.questdb.client import exact_counts

        return exact_counts(self._settings, grid, pairs)


def _distributed(settings: NaiaSettings) -> _Parts:
    from naia.sinks.questdb.client import ensure_table, stored_count
    from naia.stores.kafka.state import KafkaStateStore
    from naia.stores.kafka.writer import KafkaChunkWriter
    from naia.transports.kafka.topics import ensure_topics

    ensure_topics(settings.kafka)
    ensure_table(settings.questdb)
    writer = KafkaChunkWriter(settings.kafka)
    state = KafkaStateStore(settings.kafka)

    def counter(points: tuple[str, ...], start: datetime, end: datetime) -> int:
        return stored_count(settings.questdb, points, start, end)

    closers = [writer.close, state.close]
    return writer, state, closers, CachedCounter(counter), QuestDbRows(settings)

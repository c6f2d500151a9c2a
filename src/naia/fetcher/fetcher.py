"""The fetcher loop, against ports only (no Kafka here): lease a unit, read it, settle it.

For each unit: skip it if its request is cancelled; otherwise read it from the source, paced by
this fetcher's share of the fleet's values/s budget, and publish it (data, checkpoint, outcome
and the lease's release in one transaction, done by the feed). Transient failures are retried
with backoff; a unit that still fails is settled as failed (the API lists it in
``failedChunkErrors``). A lost lease (rebalance, fenced) drops the unit here: its new owner
reads it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from naia.domain.errors import (
    NaiaError,
    RequestCancelledError,
    SourceUnreachableError,
    TransientError,
)
from naia.domain.fleet import (
    DONE,
    FAILED,
    SKIPPED,
    FetcherFencedError,
    FleetUnavailableError,
    RequestDirectory,
    UnitFeed,
    UnitLostError,
    UnitOrder,
)
from naia.domain.model import ChunkWritten, ConnectorType
from naia.domain.ports import Source, SourceProvider
from naia.kernel.backoff import call_with_retry
from naia.kernel.bucket import TokenBucket
from naia.kernel.episode import Episode
from naia.kernel.pump import prefetch
from naia.orchestrator.retry import RetryPolicy, retry_after

log = logging.getLogger("naia.fetcher")


class FetcherObserver(Protocol):
    """What a fetcher reports, for metrics; called on its thread, must be quick."""

    def on_unit(self, kind: str, values: int, seconds: float) -> None:
        """A unit settled: done, failed, skipped, or given back (not settled)."""

    def on_values_read(self, n: int) -> None: ...

    def on_retry(self) -> None: ...

    def on_share(self, share: float) -> None:
        """This fetcher's share of the fleet budget, seen at the start of each unit."""


class NullFetcherObserver:
    def on_unit(self, kind: str, values: int, seconds: float) -> None:
        pass

    def on_values_read(self, n: int) -> None:
        pass

    def on_retry(self) -> None:
        pass

    def on_share(self, share: float) -> None:
        pass


GIVEN_BACK = "given_back"


class FetcherStoppingError(NaiaError):
    """The fetcher is shutting down: the unit in hand is given back unsettled."""


@dataclass(frozen=True, slots=True)
class FetcherConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    fleet_rate_values_per_s: float = 0.0  # the fleet's budget; this fetcher takes its share
    poll_timeout_s: float = 0.5
    prefetch: int = 2


class Fetcher:
    def __init__(
        self,
        feed: UnitFeed,
        requests: RequestDirectory,
        sources: SourceProvider,
        config: FetcherConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        observer: FetcherObserver | None = None,
    ) -> None:
        self._feed = feed
        self._requests = requests
        self._sources = sources
        self._config = config or FetcherConfig()
        self._sleep = sleep
        self._observer: FetcherObserver = observer or NullFetcherObserver()
        self._clock = clock
        self._unreadable = False
        self._limiter = TokenBucket(0.0, clock, sleep)
        self._open: dict[ConnectorType, Source] = {}
        self._stop = threading.Event()
        self._reading = False  # what the fleet was last told: a unit in hand, or nothing
        self._unreachable = Episode(log, "the source")
        self.units_done = 0

    def run(self, stop: threading.Event | None = None) -> None:
        """Work units until ``stop`` is set (then the unit in hand is given back)."""
        if stop is not None:
            self._stop = stop
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            for source in self._open.values():
                source.close()
            self._open.clear()

    def step(self) -> bool:
        """Take one unit (waiting at most the poll timeout) and settle it; False if none came."""
        try:
            order = self._feed.next(self._config.poll_timeout_s)
        except TransientError as exc:
            if not self._unreadable:  # once per episode
                log.warning("units not readable (%s); retrying every second", exc)
                self._unreadable = True
            self._sleep(1.0)
            return False
        if self._unreadable:
            log.info("units readable again")
            self._unreadable = False
        if order is None:
            if self._reading:  # idle now: the views stop showing the last unit
                self._feed.announce(None)
                self._reading = False
            return False
        self._feed.announce(order)
        self._reading = True
        self._handle(order)
        return True

    def _handle(self, order: UnitOrder) -> None:
        unit = order.unit
        log.info("unit %d of %s (run %d): reading", unit.index, unit.request_id, order.run)
        if self._requests.cancelled(unit.request_id, fresh=True):
            self._settle(order, SKIPPED, "cancelled")
            return
        started = self._clock()
        try:
            written = call_with_retry(
                lambda: self._attempt(order),
                attempts=self._config.retry.max_attempts,
                backoff=self._config.retry.backoff,
                retry_on=TransientError,
                sleep=self._sleep,
                on_retry=lambda n, err, wait: self._on_retry(order, n, err, wait),
                floor=retry_after,
            )
        except FetcherFencedError:
            raise  # another fetcher runs under this id: stop
        except FleetUnavailableError as exc:  # Kafka, not the source: not the unit's fault
            log.warning("unit %d of %s given back: %s", unit.index, unit.request_id, exc)
            self._feed_abandon(order)
            self._observer.on_unit(GIVEN_BACK, 0, self._clock() - started)
            self._sleep(self._config.retry.max_delay_s)
        except SourceUnreachableError as exc:  # the PI server is away: not the unit's fault
            self._unreachable.failed(f"unit {unit.index} of {unit.request_id} given back: {exc}")
            self._feed_abandon(order)
            self._observer.on_unit(GIVEN_BACK, 0, self._clock() - started)
            self._sleep(self._config.retry.max_delay_s)
        except (UnitLostError, FetcherStoppingError) as exc:
            log.info("unit %d of %s given back: %s", unit.index, unit.request_id, exc)
            self._feed_abandon(order)
            self._observer.on_unit(GIVEN_BACK, 0, self._clock() - started)
        except RequestCancelledError:
            self._settle(order, SKIPPED, "cancelled")
        except Exception as exc:
            if not isinstance(exc, NaiaError):
                log.exception("unit %d of %s failed unexpectedly", unit.index, unit.request_id)
            self._settle(order, FAILED, f"{type(exc).__name__}: {exc}")
        else:
            self._unreachable.succeeded()
            self.units_done += 1
            self._observer.on_unit(DONE, written.values, self._clock() - started)
            log.info(
                "unit %d of %s done by %s: %d values in %d batches",
                unit.index, unit.request_id, self._feed.fetcher_id, written.values,
                written.batches,
            )  # fmt: skip

    def _feed_abandon(self, order: UnitOrder) -> None:
        self._feed.abandon(order)

    def _settle(self, order: UnitOrder, kind: str, error: str) -> None:
        unit = order.unit
        try:
            self._feed.settle(order, kind, error)
        except (UnitLostError, TransientError) as exc:
            log.warning("unit %d of %s not settled (%s): it will be read again",
                        unit.index, unit.request_id, exc)  # fmt: skip
            self._feed_abandon(order)
            return
        log.info("unit %d of %s %s: %s", unit.index, unit.request_id, kind, error)
        self._observer.on_unit(kind, 0, 0.0)

    def _on_retry(self, order: UnitOrder, attempt: int, error: BaseException, wait: float) -> None:
        self._observer.on_retry()
        log.warning("unit %d of %s: attempt %d failed (%s); retrying in %.1fs",
                    order.unit.index, order.unit.request_id, attempt, error, wait)  # fmt: skip

    def _source(self, connector: ConnectorType) -> Source:
        source = self._open.get(connector)
        if source is None:
            source = self._open[connector] = self._sources.open(connector)
        return source

    def _attempt(self, order: UnitOrder) -> ChunkWritten:
        unit = order.unit
        share = self._feed.share()
        self._observer.on_share(share)
        self._limiter.rate = self._config.fleet_rate_values_per_s * share
        source = self._source(order.connector_type)
        batches = prefetch(iter(source.read(unit.points, unit.start, unit.end)),
                           self._config.prefetch)  # fmt: skip
        return self._feed.publish(order, self._guarded(order, batches))

    def _guarded(
        self, order: UnitOrder, batches: Iterable[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        """Pace every batch by the limiter; stop between batches when cancelled or stopping."""
        request_id = order.unit.request_id
        for batch in batches:
            if self._stop.is_set():
                raise FetcherStoppingError("shutting down")
            if self._requests.cancelled(request_id):
                raise RequestCancelledError("cancelled")
            self._limiter.acquire(batch.num_rows)
            self._observer.on_values_read(batch.num_rows)
            yield batch

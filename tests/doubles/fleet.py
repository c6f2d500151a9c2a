"""MemoryFleet: an in-memory units queue + fleet board for unit tests (no Kafka).

The board side dispatches with the same rules as the Kafka board (owner, outstanding units);
each ``feed(name)`` is one fetcher's lease on the shared queue. A unit's data, checkpoint and
outcome land together in ``publish`` (the store collects the batches first: all or nothing).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import pyarrow as pa

from naia.domain.fleet import (
    DONE,
    Dispatch,
    FleetUnavailableError,
    Outcome,
    Reading,
    UnitLostError,
    UnitOrder,
    outstanding,
)
from naia.domain.model import Chunk, ChunkCheckpoint, ChunkWritten, ConnectorType
from tests.doubles.memory_store import MemoryStore


class MemoryFleet:
    def __init__(self, store: MemoryStore, owner: str = "api-1") -> None:
        self.store = store
        self.owner = owner
        self.queue: deque[UnitOrder] = deque()
        self.dispatches: dict[str, Dispatch] = {}
        self.outcomes: dict[str, dict[int, Outcome]] = {}
        self.dispatched: list[tuple[str, int, int]] = []  # (request, unit, run) in order
        self.published: list[tuple[str, int, str]] = []  # (request, unit, fetcher)
        self.changed = threading.Condition()
        self.feeds: list[MemoryFeed] = []
        self.readings: dict[str, Reading] = {}  # the last announcement of each fetcher
        self.announced: list[Reading] = []  # every announcement, in order

    def board(self, owner: str | None = None) -> MemoryBoard:
        return MemoryBoard(self, owner or self.owner)

    def feed(self, name: str) -> MemoryFeed:
        feed = MemoryFeed(self, name)
        self.feeds.append(feed)
        return feed

    def checkpoints(self, request_id: str) -> dict[int, ChunkCheckpoint]:
        return {c.unit_index: c for c in self.store.checkpoints(request_id)}

    def record(self, request_id: str, outcome: Outcome) -> None:
        with self.changed:
            self.outcomes.setdefault(request_id, {})[outcome.unit_index] = outcome
            self.changed.notify_all()


class MemoryBoard:
    def __init__(self, fleet: MemoryFleet, owner: str) -> None:
        self.fleet = fleet
        self._owner = owner

    @property
    def owner(self) -> str:
        return self._owner

    def dispatch(
        self, request_id: str, connector_type: ConnectorType, units: Sequence[Chunk],
        skip: set[int],
    ) -> Dispatch:  # fmt: skip
        fleet = self.fleet
        with fleet.changed:
            previous, done, outcomes = self.progress(request_id)
            if previous is not None and previous.owner != self._owner:
                return previous
            out = outstanding(previous, done, outcomes)
            todo = [u for u in units if u.index not in done and u.index not in skip
                    and u.index not in out]  # fmt: skip
            if not todo:
                return previous or Dispatch(request_id, self._owner)
            run = (previous.last_run if previous else 0) + 1
            runs = {i: previous.runs[i] for i in out} if previous else {}
            runs.update({u.index: run for u in todo})
            dispatch = fleet.dispatches[request_id] = Dispatch(request_id, self._owner, runs)
            for u in todo:
                fleet.queue.append(UnitOrder(u, connector_type, run))
                fleet.dispatched.append((request_id, u.index, run))
            fleet.changed.notify_all()
            return dispatch

    def progress(
        self, request_id: str
    ) -> tuple[Dispatch | None, dict[int, ChunkCheckpoint], dict[int, Outcome]]:
        fleet = self.fleet
        with fleet.changed:
            return (fleet.dispatches.get(request_id), fleet.checkpoints(request_id),
                    dict(fleet.outcomes.get(request_id, {})))  # fmt: skip

    def readings(self) -> dict[str, Reading]:
        with self.fleet.changed:
            return dict(self.fleet.readings)

    def wait(self, timeout: float) -> None:
        with self.fleet.changed:
            self.fleet.changed.wait(timeout)

    def close(self) -> None:
        pass


class MemoryFeed:
    def __init__(self, fleet: MemoryFleet, name: str) -> None:
        self.fleet = fleet
        self.name = name
        self.lease: UnitOrder | None = None
        self.lose_next = False  # the next publish finds its lease gone (a rebalance)
        self.commit_failures = 0  # the next publishes fail transiently (Kafka away)

    @property
    def fetcher_id(self) -> str:
        return self.name

    def next(self, timeout: float) -> UnitOrder | None:
        with self.fleet.changed:
            if not self.fleet.queue:
                self.fleet.changed.wait(timeout)
            if not self.fleet.queue:
                return None
            self.lease = self.fleet.queue.popleft()
            return self.lease

    def publish(self, order: UnitOrder, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        collected = list(batches)  # reading first: a failure leaves nothing behind
        self._check(order)
        written = self.fleet.store.write_chunk(order.unit, collected)
        done = Outcome(order.unit.index, order.run, DONE, self.name, None, written.values)
        self.fleet.record(order.unit.request_id, done)
        self.fleet.published.append((order.unit.request_id, order.unit.index, self.name))
        self.lease = None
        return written

    def _check(self, order: UnitOrder) -> None:
        if self.lease is not order:
            raise UnitLostError("no lease")
        if self.lose_next:
            self.lose_next = False
            raise UnitLostError("partition revoked")
        if self.commit_failures > 0:
            self.commit_failures -= 1
            raise FleetUnavailableError("transaction failed")

    def settle(self, order: UnitOrder, kind: str, error: str | None = None) -> None:
        if self.lease is not order:
            raise UnitLostError("no lease")
        self.fleet.record(order.unit.request_id,
                          Outcome(order.unit.index, order.run, kind, self.name, error))  # fmt: skip
        self.lease = None

    def abandon(self, order: UnitOrder) -> None:
        with self.fleet.changed:
            if self.lease is order:
                self.fleet.queue.appendleft(order)
            self.lease = None

    def share(self) -> float:
        return 1.0 / max(1, len(self.fleet.feeds))

    def announce(self, order: UnitOrder | None) -> None:
        at = datetime.now(UTC)
        if order is None:
            reading = Reading(self.name, None, None, at)
        else:
            reading = Reading(self.name, order.unit.request_id, order.unit.index, at)
        with self.fleet.changed:
            self.fleet.readings[self.name] = reading
            self.fleet.announced.append(reading)

    def close(self) -> None:
        pass


class MemoryDirectory:
    def __init__(self) -> None:
        self.cancelled_ids: set[str] = set()

    def cancelled(self, request_id: str, *, fresh: bool = False) -> bool:
        return request_id in self.cancelled_ids

    def close(self) -> None:
        pass

"""Ports: the small protocols that adapters implement (one technology each)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import pyarrow as pa

from naia.domain.fingerprint import Tally
from naia.domain.model import (
    Chunk,
    ChunkCheckpoint,
    ChunkWritten,
    ConnectorType,
    RequestRecord,
    WindowGrid,
)

PointWindowCounts = Mapping[tuple[str, int], int]
"""(point, window index) → events; a pair left out counts 0."""
PointWindowTallies = Mapping[tuple[str, int], Tally]
"""(point, window index) → count and key fingerprint; a pair left out is ``EMPTY``."""


class Source(Protocol):
    """Reads recorded history. Yields batches of the batch schema for [start, end) only,
    with ``seq`` numbering same-timestamp events; memory bounded by its page size."""

    def check_points(self, points: Sequence[str]) -> None:
        """Raise UnknownPointError naming every point it does not know (may be lazy: no-op)."""
        ...

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


@runtime_checkable
class RetryCounting(Protocol):
    """Optional capability of a Source that retries its own requests (PI Web API's HTTP
    retries): how many it repeated so far. They count in the request's ``retries``."""

    @property
    def retries(self) -> int: ...


@runtime_checkable
class EventTallier(Protocol):
    """Optional Source capability: per (point, window) of ``grid`` the events' count and the
    fingerprint of their (ts, seq) keys (naia.domain.fingerprint), seq numbered exactly as
    ``read`` numbers it. Without it, a thin read is tallied (naia.orchestrator.verify)."""

    def tally_events(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies: ...


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """What a store holds per (point, window index): rows, and rows whose (ts, source_address,
    seq) repeats (each copy past the first counts one). ``differs``: pairs whose row keys are
    known to differ from the source's (their fingerprints differ), whatever the counts say."""

    rows: PointWindowCounts
    duplicates: PointWindowCounts
    differs: frozenset[tuple[str, int]] = frozenset()


class StoreCounter(Protocol):
    """Counts a store's rows of ``points`` per window of ``grid`` — one query per call."""

    def stored_counts(self, points: Sequence[str], grid: WindowGrid) -> StoredCounts: ...


@runtime_checkable
class StoreTallier(Protocol):
    """A store's side of a verification in two tiers, cheap and exact (docs/verify.md); a store
    without it is a ``StoreCounter``."""

    def stored_tallies(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        """Count and key fingerprint per (point, window): one linear scan, no key aggregate."""
        ...

    def exact_counts(self, grid: WindowGrid, pairs: Collection[tuple[str, int]]) -> StoredCounts:
        """Rows and repeated keys of these (point, window) pairs only, exactly."""
        ...


class ChunkWriter(Protocol):
    """Writes one chunk's batches and its checkpoint atomically: all or nothing.

    Writing a chunk whose window already holds data for these points replaces it, so re-running a
    range leaves exactly one copy.
    """

    def write_chunk(self, chunk: Chunk, batches: Iterable[pa.RecordBatch]) -> ChunkWritten: ...


class StateStore(Protocol):
    """Durable request records and the checkpoints written by the ChunkWriter."""

    def save_request(self, record: RequestRecord) -> None:
        """Durable when it returns; TransientError when the store did not confirm it in time
        (bounded: ``kafka.state_timeout_s``)."""
        ...

    def abandon_request(self, request_id: str) -> None:
        """A submit whose save was not confirmed: make sure its record never loads (and so the
        request never runs), even if the store got it after all. May finish in the background."""
        ...

    def load_requests(self) -> list[RequestRecord]: ...

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]: ...


class SourceProvider(Protocol):
    """Opens sources by connector type; the app wiring decides which are installed."""

    def check(self, connector_type: ConnectorType) -> None:
        """Raise ConnectorUnavailableError saying what is missing."""
        ...

    def open(self, connector_type: ConnectorType) -> Source: ...


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """A message as the ingestion worker sees it, whatever carried it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


class Inbox(Protocol):
    """Where the ingestion worker takes messages from; live data comes first."""

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]: ...

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        """Mark ``messages`` (and what precedes them on their partitions) as done, once the sinks
        made them durable; messages polled since stay uncommitted."""
        ...

    def decode(self, message: InboxMessage) -> pa.RecordBatch:
        """The message's rows in the point_data schema; DecodeError when it cannot be read."""
        ...

    def dead_letter(self, message: InboxMessage, reason: str) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    """A store the ingestion worker writes: buffer with ``write``; ``prepare`` takes everything
    written so far (the CPU work: encoding) and returns the step that makes it durable (the
    waiting: network I/O). The worker runs that step on another thread, one at a time and in
    order, while it prepares the next cycle; ``flush`` is both at once."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def prepare(self) -> Callable[[], None]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

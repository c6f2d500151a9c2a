"""Fleet fetching: work units as records, read by any fetcher of a group (docs/messages.md).

The API plans a request and *dispatches* its units; fetchers lease one unit at a time, read it
from the source and *settle* it: its data, its checkpoint (or its failure) and the lease's
release go together, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from naia.domain.errors import NaiaError, TerminalError, TransientError
from naia.domain.model import Chunk, ChunkCheckpoint, ChunkWritten, ConnectorType


class UnitLostError(NaiaError):
    """The fetcher no longer holds the unit's lease (rebalance, fenced): another fetcher has it.

    Neither transient (retrying here would publish twice) nor a failure of the unit."""


class FleetUnavailableError(TransientError):
    """The units' transport (Kafka) failed, not the source: the unit is given back, not failed."""


class FetcherFencedError(TerminalError):
    """Another fetcher started under this one's id (its transactional.id): this one must stop."""


@dataclass(frozen=True, slots=True)
class UnitOrder:
    """One unit as dispatched: what to read, from which connector, in which dispatch run."""

    unit: Chunk
    connector_type: ConnectorType
    run: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a fetcher settled a unit of run ``run``: done, failed or skipped (cancelled)."""

    unit_index: int
    run: int
    kind: str  # "done" | "failed" | "skipped"
    fetcher: str
    error: str | None = None
    values: int = 0
    seconds: float = 0.0


DONE, FAILED, SKIPPED = "done", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class Reading:
    """What a fetcher reads now, as it last announced it: a unit of a request since ``since``,
    or nothing (``request_id`` and ``unit_index`` None) since then."""

    fetcher: str
    request_id: str | None
    unit_index: int | None
    since: datetime


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The units of a request handed to the fleet so far: unit index → the run it went out in."""

    request_id: str
    owner: str
    runs: dict[int, int] = field(default_factory=dict)

    @property
    def last_run(self) -> int:
        return max(self.runs.values(), default=0)


def outstanding(
    dispatch: Dispatch | None, done: Iterable[int], outcomes: dict[int, Outcome]
) -> set[int]:
    """Dispatched units with no checkpoint and no final outcome in the run they went out in."""
    if dispatch is None:
        return set()
    finished = set(done)
    left = set()
    for index, run in dispatch.runs.items():
        if index in finished:
            continue
        outcome = outcomes.get(index)
        if outcome is not None and outcome.run >= run and outcome.kind in (FAILED, SKIPPED):
            continue
        left.add(index)
    return left


class UnitFeed(Protocol):
    """A fetcher's side of the units topic: lease units and settle each exactly once."""

    @property
    def fetcher_id(self) -> str: ...

    def next(self, timeout: float) -> UnitOrder | None: ...

    def publish(self, order: UnitOrder, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        """Data + checkpoint + 'done' + lease release in one transaction; UnitLostError when the
        lease was lost (the unit is another fetcher's now), TransientError to try again."""
        ...

    def settle(self, order: UnitOrder, kind: str, error: str | None = None) -> None:
        """Record a failed or skipped unit and release its lease, in one transaction."""
        ...

    def abandon(self, order: UnitOrder) -> None:
        """Give the unit back unsettled: it is read again, here or by its next owner."""
        ...

    def share(self) -> float:
        """This fetcher's share of the fleet's budget (0..1), recomputed on each rebalance."""
        ...

    def announce(self, order: UnitOrder | None) -> None:
        """Tell the fleet what this fetcher reads now (None: nothing), for the views; outside
        any transaction, best effort: never raises."""
        ...

    def close(self) -> None: ...


class RequestDirectory(Protocol):
    """What a fetcher knows of the requests (read from the request records)."""

    def cancelled(self, request_id: str, *, fresh: bool = False) -> bool:
        """True once the request's record says cancelled; ``fresh`` reads up to the latest
        record first."""
        ...

    def close(self) -> None: ...


class FleetBoard(Protocol):
    """The API's side: dispatch a request's units once, follow their checkpoints and outcomes."""

    @property
    def owner(self) -> str: ...

    def dispatch(
        self,
        request_id: str,
        connector_type: ConnectorType,
        units: Sequence[Chunk],
        skip: set[int],
    ) -> Dispatch:
        """Fence every other dispatcher of the request, then hand out every unit that is neither
        checkpointed, nor in ``skip``, nor still out in an earlier run; returns the dispatch."""
        ...

    def progress(
        self, request_id: str
    ) -> tuple[Dispatch | None, dict[int, ChunkCheckpoint], dict[int, Outcome]]: ...

    def readings(self) -> dict[str, Reading]:
        """Each fetcher's last announcement (``UnitFeed.announce``), by fetcher id."""
        ...

    def wait(self, timeout: float) -> None:
        """Return when new checkpoints or outcomes arrived, or after ``timeout``."""
        ...

    def close(self) -> None: ...

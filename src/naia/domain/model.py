"""Requests, chunks (the unit of work), statuses and progress records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DEFAULT_CHUNK = timedelta(days=30)


class ConnectorType(enum.StrEnum):
    PI_AF_SDK = "PIAfSdk"
    PI_WEB_API = "PIWebApi"
    SIMULATOR = "Simulator"


class RequestStatus(enum.StrEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_active(self) -> bool:
        return self in (RequestStatus.QUEUED, RequestStatus.RUNNING)


class ChunkState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BackfillSpec:
    """What the user asked for, validated."""

    connector_type: ConnectorType
    points: tuple[str, ...]
    start: datetime
    end: datetime
    chunk_size: timedelta = DEFAULT_CHUNK


@dataclass(frozen=True, slots=True)
class Chunk:
    """Points × a half-open window [start, end): the unit of fetch, write and checkpoint."""

    request_id: str
    index: int
    points: tuple[str, ...]
    start: datetime
    end: datetime
    window: int = 0
    group: int = 0


@dataclass(frozen=True, slots=True)
class ChunkCheckpoint:
    """A committed chunk: written atomically with its data."""

    request_id: str
    unit_index: int
    values: int
    batches: int
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class WindowGrid:
    """Contiguous half-open windows [start + k·step, start + (k+1)·step), the last one cut at
    ``end``: a request's chunk windows, the windows a verification compares."""

    start: datetime
    end: datetime
    step: timedelta

    @property
    def count(self) -> int:
        return -(-(self.end - self.start) // self.step)

    def window(self, index: int) -> tuple[datetime, datetime]:
        a = self.start + index * self.step
        return a, min(a + self.step, self.end)

    def windows(self) -> list[tuple[datetime, datetime]]:
        return [self.window(i) for i in range(self.count)]


class VerificationStatus(enum.StrEnum):
    RUNNING = "Running"
    VERIFIED = "Verified"
    MISMATCHED = "Mismatched"
    REPAIRING = "Repairing"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One (point, window) whose stored rows differ from the source's events."""

    point: str
    window: int
    start: datetime
    end: datetime
    source: int
    stored: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class Verification:
    """The last comparison of a request's store with its source (and its repair, if any)."""

    status: VerificationStatus
    checked_at: datetime
    windows_checked: int = 0
    windows_skipped: int = 0
    source_events: int = 0
    stored_events: int = 0
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None
    repair: bool = False
    repaired_units: tuple[int, ...] = ()
    seconds: float = 0.0


@dataclass(slots=True)
class RequestRecord:
    """The durable part of a request (what survives a restart besides the checkpoints)."""

    request_id: str
    spec: BackfillSpec
    status: RequestStatus
    queued_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed_units: dict[int, str] = field(default_factory=dict)
    error: str | None = None
    cancel_requested: bool = False
    idempotency_key: str | None = None
    verification: Verification | None = None
    repair_units: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ChunkWritten:
    values: int
    batches: int

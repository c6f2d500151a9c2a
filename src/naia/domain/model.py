"""Requests, work units, statuses and progress records."""

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
class WorkUnit:
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
    """A committed work unit: written atomically with its data."""

    request_id: str
    unit_index: int
    values: int
    batches: int
    completed_at: datetime


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


@dataclass(frozen=True, slots=True)
class ChunkWritten:
    values: int
    batches: int

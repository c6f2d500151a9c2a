"""Read-only snapshots of requests and global statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from naia.domain.model import ChunkState, ConnectorType, RequestStatus


@dataclass(frozen=True, slots=True)
class RequestView:
    request_id: str
    connector_type: ConnectorType
    points: tuple[str, ...]
    start: datetime
    end: datetime
    chunk_size_s: float
    status: RequestStatus
    progress: float
    total_chunks: int
    completed_chunks: int
    failed_chunks: int
    points_processed: int
    batches_published: int
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    values_per_second: float | None
    eta_seconds: float | None
    estimated_completion: datetime | None
    error: str | None
    failed_chunk_errors: dict[int, str]
    retries: int
    run_values: int = 0  # values committed by this process's last run of the request
    run_seconds: float | None = None  # wall time of that run (so far, while running)

    @property
    def point_count(self) -> int:
        return len(self.points)


@dataclass(frozen=True, slots=True)
class Stats:
    completed_requests: int
    failed_requests: int
    cancelled_requests: int
    total_points_backfilled: int
    total_batches_published: int
    failed_chunks: int
    queue_depth: int


@dataclass(frozen=True, slots=True)
class ChunkMap:
    """Per work unit state, for the dashboard: windows × point groups."""

    windows: tuple[tuple[datetime, datetime], ...]
    groups: tuple[tuple[str, ...], ...]
    states: tuple[ChunkState, ...]

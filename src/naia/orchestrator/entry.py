"""The live state of one request: its durable record, its plan and run-time counters."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from naia.domain.model import ChunkCheckpoint, ChunkState, RequestRecord, RequestStatus
from naia.orchestrator.views import ChunkMap, RequestView
from naia.planner import Plan


@dataclass
class Entry:
    record: RequestRecord
    plan: Plan
    done: dict[int, ChunkCheckpoint] = field(default_factory=dict)
    running: set[int] = field(default_factory=set)
    cancel: threading.Event = field(default_factory=threading.Event)
    saving: threading.Lock = field(default_factory=threading.Lock)  # one record save at a time
    run_started: float | None = None
    run_ended: float | None = None
    run_values: int = 0
    run_units: int = 0
    in_flight_values: int = 0
    retries: int = 0

    @property
    def status(self) -> RequestStatus:
        return self.record.status

    def pending_units(self) -> list[int]:
        skip = self.done.keys() | self.record.failed_units.keys()
        return [i for i in range(self.plan.total_units) if i not in skip]

    def begin_run(self, clock: float) -> None:
        self.run_started, self.run_ended = clock, None
        self.run_values = self.run_units = self.in_flight_values = 0

    def values_done(self) -> int:
        return sum(c.values for c in self.done.values())

    def view(self, now: datetime, clock: float) -> RequestView:
        record, total = self.record, self.plan.total_units
        rate, eta = self._rate_and_eta(clock)
        return RequestView(
            request_id=record.request_id,
            connector_type=record.spec.connector_type,
            points=record.spec.points,
            start=record.spec.start,
            end=record.spec.end,
            chunk_size_s=record.spec.chunk_size.total_seconds(),
            status=record.status,
            progress=round(100.0 * len(self.done) / total, 2) if total else 100.0,
            total_chunks=total,
            completed_chunks=len(self.done),
            failed_chunks=len(record.failed_units),
            points_processed=self.values_done(),
            batches_published=sum(c.batches for c in self.done.values()),
            queued_at=record.queued_at,
            started_at=record.started_at,
            completed_at=record.completed_at,
            values_per_second=rate,
            eta_seconds=eta,
            estimated_completion=now + timedelta(seconds=eta) if eta is not None else None,
            error=record.error,
            failed_chunk_errors=dict(record.failed_units),
            retries=self.retries,
            run_values=self.run_values,
            run_seconds=self._run_seconds(clock),
        )

    def _run_seconds(self, clock: float) -> float | None:
        if self.run_started is None:
            return None
        return (self.run_ended if self.run_ended is not None else clock) - self.run_started

    def _rate_and_eta(self, clock: float) -> tuple[float | None, float | None]:
        if self.status is not RequestStatus.RUNNING:
            return self._final_rate(), None
        if self.run_started is None:
            return None, None
        elapsed = max(clock - self.run_started, 1e-9)
        rate = (self.run_values + self.in_flight_values) / elapsed
        if self.run_units == 0:
            return rate, None
        remaining = len(self.pending_units()) - len(self.running)
        per_unit = elapsed / self.run_units
        return rate, max(0.0, (remaining + 0.5 * len(self.running)) * per_unit)

    def _final_rate(self) -> float | None:
        """Average values/s of a finished request, from its start to its end."""
        started, ended = self.record.started_at, self.record.completed_at
        if started is None or ended is None or ended <= started:
            return None
        return self.values_done() / (ended - started).total_seconds()

    def chunk_map(self) -> ChunkMap:
        states = []
        for i in range(self.plan.total_units):
            if i in self.done:
                states.append(ChunkState.DONE)
            elif i in self.running:
                states.append(ChunkState.RUNNING)
            elif i in self.record.failed_units:
                states.append(ChunkState.FAILED)
            else:
                states.append(ChunkState.PENDING)
        return ChunkMap(self.plan.windows, self.plan.groups, tuple(states))


def monotonic() -> float:
    return time.monotonic()

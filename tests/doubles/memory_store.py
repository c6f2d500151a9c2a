"""MemoryStore: an in-memory ChunkWriter + StateStore for unit tests and contract tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import pyarrow as pa

from naia.domain.model import ChunkCheckpoint, ChunkWritten, RequestRecord, WorkUnit
from naia.domain.records import record_from_json, record_to_json
from naia.domain.schema import BATCH_SCHEMA


class MemoryStore:
    """Keeps rows per (point group, window); a rewrite replaces them, like the real stores."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[tuple[str, ...], datetime, datetime], list[pa.RecordBatch]] = {}
        self._checkpoints: dict[tuple[str, int], ChunkCheckpoint] = {}
        self._records: dict[str, str] = {}
        self.writes = 0

    def write_chunk(self, unit: WorkUnit, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        collected = [b for b in batches if b.num_rows]  # all or nothing: collect first
        values = sum(b.num_rows for b in collected)
        with self._lock:
            self._rows[(unit.points, unit.start, unit.end)] = collected
            self._checkpoints[(unit.request_id, unit.index)] = ChunkCheckpoint(
                unit.request_id, unit.index, values, len(collected), datetime.now(UTC)
            )
            self.writes += 1
        return ChunkWritten(values, len(collected))

    def table(self) -> pa.Table:
        with self._lock:
            batches = [b for group in self._rows.values() for b in group]
        return pa.Table.from_batches(batches, schema=BATCH_SCHEMA)

    def save_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._records[record.request_id] = record_to_json(record)

    def abandon_request(self, request_id: str) -> None:
        with self._lock:
            self._records.pop(request_id, None)

    def load_requests(self) -> list[RequestRecord]:
        with self._lock:
            records = [record_from_json(t) for t in self._records.values()]
        return sorted(records, key=lambda r: r.queued_at)

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]:
        with self._lock:
            found = [c for (rid, _), c in self._checkpoints.items() if rid == request_id]
        return sorted(found, key=lambda c: c.unit_index)

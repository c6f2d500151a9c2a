"""DuckDbStore: a ChunkWriter and StateStore over one DuckDB file.

A chunk's rows and its checkpoint are committed in one transaction, so a crash at any moment
leaves either both or neither. Writing a window again first deletes the rows of those points in
that window (inside the same transaction): re-running a range leaves exactly one copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from naia.domain.errors import TerminalError
from naia.domain.model import ChunkCheckpoint, ChunkWritten, RequestRecord, WorkUnit
from naia.domain.records import record_from_json, record_to_json
from naia.domain.schema import BATCH_SCHEMA

log = logging.getLogger("naia.store")

_INSERT = "INSERT INTO point_data SELECT * FROM chunk_stream"
_HAS_ROWS = (
    "SELECT 1 FROM point_data WHERE ts >= ? AND ts < ? "
    "AND source_address IN (SELECT unnest(?::VARCHAR[])) LIMIT 1"
)
_DELETE = (
    "DELETE FROM point_data WHERE ts >= ? AND ts < ? "
    "AND source_address IN (SELECT unnest(?::VARCHAR[]))"
)


class DuckDbStore:
    """Embedded store. Thread-safe: each call takes a cursor of its own."""

    def __init__(
        self, path: Path | str, *, read_only: bool = False, memory_limit: str | None = None
    ) -> None:
        """``memory_limit`` bounds DuckDB's buffers (None: DuckDB's default, 80 % of RAM);
        a chunk streams through it whatever its size. The app sets it (``store.memory_limit``)."""
        self.path = Path(path)
        self._read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "preserve_insertion_order": False,
        }
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise TerminalError(f"cannot open the store {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        if not read_only:
            ddl = resources.files("naia.stores.duckdb").joinpath("schema.sql").read_text()
            self._con.execute(ddl)

    def close(self) -> None:
        """Merge the WAL into the file (CHECKPOINT), then close: a clean stop leaves one file."""
        if not self._read_only:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.Error as exc:  # e.g. a transaction still open: DuckDB replays the WAL
                log.warning("checkpoint of %s on close failed: %s", self.path, exc)
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    # ChunkWriter -----------------------------------------------------------------------------
    def write_chunk(self, unit: WorkUnit, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        cur = self.cursor()
        try:
            cur.begin()
            self._clear_window(cur, unit)
            values, count = self._insert_all(cur, batches)
            cur.execute(
                "INSERT OR REPLACE INTO naia_checkpoints VALUES (?, ?, ?, ?, ?)",
                [unit.request_id, unit.index, values, count, datetime.now(UTC)],
            )
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        finally:
            cur.close()
        return ChunkWritten(values=values, batches=count)

    @staticmethod
    def _clear_window(cur: duckdb.DuckDBPyConnection, unit: WorkUnit) -> None:
        params = [unit.start, unit.end, list(unit.points)]
        if cur.execute(_HAS_ROWS, params).fetchone() is not None:
            cur.execute(_DELETE, params)

    @staticmethod
    def _insert_all(
        cur: duckdb.DuckDBPyConnection, batches: Iterable[pa.RecordBatch]
    ) -> tuple[int, int]:
        """One INSERT streaming every batch: DuckDB writes full row groups as they fill, so
        memory stays bounded by its memory_limit whatever the chunk's size."""
        counted = _Counted(batches)
        reader = pa.RecordBatchReader.from_batches(BATCH_SCHEMA, counted)
        cur.register("chunk_stream", reader)
        try:
            cur.execute(_INSERT)
        except duckdb.Error:
            if counted.failure is not None:  # the source failed: raise its own error
                raise counted.failure from None
            raise
        cur.unregister("chunk_stream")
        return counted.values, counted.batches

    # StateStore ------------------------------------------------------------------------------
    def save_request(self, record: RequestRecord) -> None:
        cur = self.cursor()
        try:
            cur.execute(
                "INSERT OR REPLACE INTO naia_requests VALUES (?, ?, ?)",
                [record.request_id, record_to_json(record), datetime.now(UTC)],
            )
        finally:
            cur.close()

    def abandon_request(self, request_id: str) -> None:
        """A failed save left nothing behind (one DuckDB statement); delete it all the same."""
        cur = self.cursor()
        try:
            cur.execute("DELETE FROM naia_requests WHERE request_id = ?", [request_id])
        finally:
            cur.close()

    def load_requests(self) -> list[RequestRecord]:
        cur = self.cursor()
        try:
            rows = cur.execute("SELECT body FROM naia_requests").fetchall()
        finally:
            cur.close()
        records = [record_from_json(str(body)) for (body,) in rows]
        return sorted(records, key=lambda r: r.queued_at)

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]:
        cur = self.cursor()
        try:
            rows = cur.execute(
                "SELECT unit_index, value_count, batch_count, completed_at FROM naia_checkpoints "
                "WHERE request_id = ? ORDER BY unit_index",
                [request_id],
            ).fetchall()
        finally:
            cur.close()
        return [ChunkCheckpoint(request_id, int(i), int(v), int(b), at) for i, v, b, at in rows]

    # Queries ---------------------------------------------------------------------------------
    def query(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
        cur = self.cursor()
        try:
            result = cur.execute(sql)
            names = [d[0] for d in result.description or []]
            return names, result.fetchall()
        finally:
            cur.close()


class _Counted:
    """Counts rows and batches as DuckDB pulls them; keeps the source's own exception."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = iter(batches)
        self.values = 0
        self.batches = 0
        self.failure: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            batch = next(self._batches)
        except StopIteration:
            raise
        except BaseException as exc:
            self.failure = exc
            raise
        self.values += batch.num_rows
        self.batches += 1 if batch.num_rows else 0
        return batch

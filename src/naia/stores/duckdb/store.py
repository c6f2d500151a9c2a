"""DuckDbStore: a ChunkWriter and StateStore over one DuckDB file.

A chunk's rows and its checkpoint are committed in one transaction, so a crash at any moment
leaves either both or neither. Writing a window again first deletes the rows of those points in
that window (inside the same transaction): re-running a range leaves exactly one copy.

Rows are stored compact (naia.stores.duckdb.compact): ``naia_values`` with point and state ids
and the quality flags as bits, the names in ``naia_points`` and ``naia_states``, written in the
transaction of the first rows that use them. ``point_data`` is a view with the design's columns;
a file written before (``point_data`` a table) is converted when it is first opened for writing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from naia.domain.errors import TerminalError
from naia.domain.fingerprint import MAX_DIRECT_SPAN_US, SEQ_SHIFT, P, tally_of
from naia.domain.model import Chunk, ChunkCheckpoint, ChunkWritten, RequestRecord, WindowGrid
from naia.domain.ports import PointWindowTallies, StoredCounts
from naia.domain.records import record_from_json, record_to_json
from naia.stores.duckdb.compact import FLAGS_WIDTH, VALUES_SCHEMA, Compacted, Names

log = logging.getLogger("naia.store")

_INSERT = "INSERT INTO naia_values SELECT * FROM chunk_stream"
_HAS_ROWS = (
    "SELECT 1 FROM naia_values WHERE ts >= ? AND ts < ? "
    "AND point_id IN (SELECT unnest(?::UINTEGER[])) LIMIT 1"
)
_EXACT = (  # the same for the points of some pairs over the span of their windows; picked
    # before the key aggregate (cheap), or, when that ran out of memory, after it (as _COUNTS)
    "SELECT p.source_address, e.w, e.n, e.d FROM ("
    "SELECT point_id, w, sum(n) AS n, sum(n) - count(*) AS d FROM ("
    f"SELECT point_id, (epoch_us(ts) - ?) // ? AS w, ts, seq_flags >> {FLAGS_WIDTH} AS seq, "
    "count(*) AS n "
    "FROM naia_values WHERE ts >= ? AND ts < ?{before} GROUP BY ALL){after} GROUP BY 1, 2"
    ") AS e JOIN naia_points AS p USING (point_id)"
)
_PICKED = (  # the points named by a VARCHAR[] parameter, by their ids
    "point_id IN (SELECT point_id FROM naia_points "
    "WHERE source_address IN (SELECT unnest(?::VARCHAR[])))"
)
VERIFY_MEMORY_LIMIT = "64MB"
"""DuckDB's memory while it counts a request's keys, on one thread (it spills past it; two
threads' hash tables do not fit); the writes' own limit and threads are restored after: a
multi-year request's keys need more than a chunk's write does. 100 points × 1 year (52.6 M keys)
measured 150 MB peak RSS for that query alone (27 s on this 2-core machine under load)."""
_DELETE = (
    "DELETE FROM naia_values WHERE ts >= ? AND ts < ? "
    "AND point_id IN (SELECT unnest(?::UINTEGER[]))"
)
_LAYOUT = (
    "SELECT table_type FROM information_schema.tables "
    "WHERE table_schema = 'main' AND table_name = 'point_data'"
)
_CONVERT = [  # a point_data table of a file written before the compact layout
    "INSERT INTO naia_points SELECT row_number() OVER (ORDER BY source_address) - 1, "
    "source_address FROM (SELECT DISTINCT source_address FROM point_data)",
    "INSERT INTO naia_states SELECT row_number() OVER (ORDER BY state), state "
    "FROM (SELECT DISTINCT state FROM point_data WHERE state IS NOT NULL)",
    "INSERT INTO naia_values SELECT d.ts, p.point_id, d.value, coalesce(s.state_id, 0), "
    f"(d.seq::INTEGER << {FLAGS_WIDTH}) + d.good::INTEGER + 2 * d.questionable::INTEGER "
    "+ 4 * d.substituted::INTEGER + 8 * d.annotated::INTEGER FROM point_data AS d "
    "JOIN naia_points AS p USING (source_address) LEFT JOIN naia_states AS s USING (state)",
    "DROP TABLE point_data",
]


class DuckDbStore:
    """Embedded store. Thread-safe: each call takes a cursor of its own.

    DuckDB keeps the metadata of every row group it wrote in memory while the database is open
    (measured: ~0.15 MB per million rows, 85 MB for a year of 1,000 points), so a long backfill
    would grow without bound. The store closes and reopens its database after every
    ``recycle_values`` values written, when no cursor is in use: memory stays flat whatever the
    size of the store.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        recycle_values: int = 20_000_000,
    ) -> None:
        """``memory_limit`` bounds DuckDB's buffers (None: DuckDB's default, 80 % of RAM);
        a chunk streams through it whatever its size. The app sets it (``store.memory_limit``)."""
        self.path = Path(path)
        self._read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "preserve_insertion_order": False,
        }
        if memory_limit is not None:
            self._config["memory_limit"] = memory_limit
        self._memory_limit = memory_limit
        self._verify_lock = threading.Lock()
        self._recycle_values = recycle_values
        self._written = 0  # values written since the database was opened
        self._in_use = 0  # sessions open on the connection
        self._closed = False
        self._lock = threading.Condition()
        self._write_lock = threading.Lock()  # one chunk at a time gives out new name ids
        self._con = self._connect()
        self._points = Names({})
        self._states = Names({})
        if not read_only:
            self._con.execute(_sql("schema.sql"))
            self._settle_layout()
            self._points = Names(self._names("SELECT source_address, point_id FROM naia_points"))
            self._states = Names(self._names("SELECT state, state_id FROM naia_states"), first=1)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=self._read_only, config=self._config)
        except duckdb.Error as exc:
            raise TerminalError(f"cannot open the store {self.path}: {exc}") from exc

    def _settle_layout(self) -> None:
        """``point_data`` as the view over the compact tables; a table of a file written by an
        earlier version is converted first (one transaction: a crash leaves it as it was)."""
        cur = self._con.cursor()
        began = False
        try:
            found = cur.execute(_LAYOUT).fetchone()
            cur.begin()
            began = True
            if found is not None and found[0] == "BASE TABLE":
                rows = cur.execute("SELECT count(*) FROM point_data").fetchone()
                log.warning(
                    "%s: converting point_data (%s rows) to the compact layout, once",
                    self.path,
                    f"{rows[0] if rows else 0:,}",
                )
                for statement in _CONVERT:
                    cur.execute(statement)
            cur.execute(_sql("point_data.sql"))
            cur.commit()
        except duckdb.Error as exc:
            if began:
                cur.rollback()
            raise TerminalError(f"cannot prepare the store {self.path}: {exc}") from exc
        finally:
            cur.close()

    def _names(self, sql: str) -> dict[str, int]:
        return {str(name): int(i) for name, i in self._con.execute(sql).fetchall()}

    def close(self) -> None:
        """Merge the WAL into the file (CHECKPOINT), then close: a clean stop leaves one file."""
        with self._lock:
            self._closed = True
            self._close()

    def _close(self) -> None:
        if not self._read_only:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.Error as exc:  # e.g. a transaction still open: DuckDB replays the WAL
                log.warning("checkpoint of %s on close failed: %s", self.path, exc)
        self._con.close()

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one piece of work; the database is not reopened under it."""
        with self._lock:
            cur = self._con.cursor()
            self._in_use += 1
        try:
            yield cur
        finally:
            cur.close()
            with self._lock:
                self._in_use -= 1
                self._recycle_if_due()

    def _recycle_if_due(self) -> None:
        """Close and reopen the database (called under the lock) once enough was written."""
        if self._closed or self._in_use or self._written < self._recycle_values:
            return
        self._close()
        self._con = self._connect()
        self._written = 0

    # ChunkWriter -----------------------------------------------------------------------------
    def write_chunk(self, chunk: Chunk, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        with self.session() as cur, self._write_lock:
            committed = False
            try:
                cur.begin()
                self._clear_window(cur, chunk)
                values, count = self._insert_all(cur, batches)
                self._insert_names(cur)
                cur.execute(
                    "INSERT OR REPLACE INTO naia_checkpoints VALUES (?, ?, ?, ?, ?)",
                    [chunk.request_id, chunk.index, values, count, datetime.now(UTC)],
                )
                cur.commit()
                committed = True
            except BaseException:
                cur.rollback()
                raise
            finally:
                self._points.settle(committed=committed)
                self._states.settle(committed=committed)
            with self._lock:
                self._written += values
        return ChunkWritten(values=values, batches=count)

    def _clear_window(self, cur: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
        ids = [self._points.id_of(point) for point in chunk.points]
        params = [chunk.start, chunk.end, ids]
        if cur.execute(_HAS_ROWS, params).fetchone() is not None:
            cur.execute(_DELETE, params)

    def _insert_names(self, cur: duckdb.DuckDBPyConnection) -> None:
        """The names first given an id by this chunk, in its transaction."""
        for table, names in (("naia_points", self._points), ("naia_states", self._states)):
            if names.new:
                rows = [[i, name] for name, i in names.new.items()]
                cur.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)

    def _insert_all(
        self, cur: duckdb.DuckDBPyConnection, batches: Iterable[pa.RecordBatch]
    ) -> tuple[int, int]:
        """One INSERT streaming every batch: DuckDB writes full row groups as they fill, so
        memory stays bounded by its memory_limit whatever the chunk's size."""
        counted = Compacted(batches, self._points, self._states)
        reader = pa.RecordBatchReader.from_batches(VALUES_SCHEMA, counted)
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
        with self.session() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO naia_requests VALUES (?, ?, ?)",
                [record.request_id, record_to_json(record), datetime.now(UTC)],
            )

    def abandon_request(self, request_id: str) -> None:
        """A failed save left nothing behind (one DuckDB statement); delete it all the same."""
        with self.session() as cur:
            cur.execute("DELETE FROM naia_requests WHERE request_id = ?", [request_id])

    def load_requests(self) -> list[RequestRecord]:
        with self.session() as cur:
            rows = cur.execute("SELECT body FROM naia_requests").fetchall()
        records = [record_from_json(str(body)) for (body,) in rows]
        return sorted(records, key=lambda r: r.queued_at)

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]:
        with self.session() as cur:
            rows = cur.execute(
                "SELECT unit_index, value_count, batch_count, completed_at FROM naia_checkpoints "
                "WHERE request_id = ? ORDER BY unit_index",
                [request_id],
            ).fetchall()
        return [ChunkCheckpoint(request_id, int(i), int(v), int(b), at) for i, v, b, at in rows]

    # StoreTallier ----------------------------------------------------------------------------
    def stored_tallies(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        """Count and key fingerprint per (point, window) in one scan (no key aggregate)."""
        params: list[object] = [grid.start, grid.end, list(points)]
        with self.session() as cur:
            share = cur.execute(_SHARE, [list(points), grid.start, grid.end]).fetchone()
        mine, seen = share or (0, 0)
        sql = tally_sql(grid, pick_first=2 * int(mine) < int(seen))
        rows = self._tally_query(sql, params)
        return {(str(p), int(w)): tally_of(n, (a, b, c, d)) for p, w, n, a, b, c, d in rows}

    def exact_counts(self, grid: WindowGrid, pairs: Collection[tuple[str, int]]) -> StoredCounts:
        """Rows and repeated keys of ``pairs`` only: the key aggregate reads their points over
        the span of their windows (the caller keeps each call to a few million rows)."""
        if not pairs:
            return StoredCounts({}, {})
        first = grid.window(min(w for _, w in pairs))[0]
        last = grid.window(max(w for _, w in pairs))[1]
        params = [_epoch_us(grid.start), grid.step // timedelta(microseconds=1), first, last,
                  sorted({p for p, _ in pairs})]  # fmt: skip
        try:
            sql = _EXACT.format(before=f" AND {_PICKED}", after="")
            rows = self._tally_query(sql, params, one_thread=True)
        except duckdb.OutOfMemoryException:  # DuckDB spills the unfiltered aggregate only
            log.info("exact count of %d pairs: out of memory, counting every point", len(pairs))
            sql = _EXACT.format(before="", after=f" WHERE {_PICKED}")
            rows = self._tally_query(sql, params, one_thread=True)
        wanted = set(pairs)
        counts = {(str(p), int(w)): int(n) for p, w, n, _ in rows}
        dups = {(str(p), int(w)): int(d) for p, w, _, d in rows if d}
        return StoredCounts(
            {k: n for k, n in counts.items() if k in wanted},
            {k: d for k, d in dups.items() if k in wanted},
        )

    def _tally_query(
        self, sql: str, params: list[object], *, one_thread: bool = False
    ) -> list[tuple[Any, ...]]:
        """``one_thread``: a key aggregate, whose hash tables must fit VERIFY_MEMORY_LIMIT."""
        with self.session() as cur, self._verify_lock:
            cur.execute(f"SET memory_limit = '{VERIFY_MEMORY_LIMIT}'")
            if one_thread:
                cur.execute("SET threads = 1")
            try:
                return cur.execute(sql, params).fetchall()
            finally:
                if one_thread:
                    cur.execute("RESET threads")
                if self._memory_limit is None:
                    cur.execute("RESET memory_limit")
                else:
                    cur.execute(f"SET memory_limit = '{self._memory_limit}'")

    # Queries ---------------------------------------------------------------------------------
    def query(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
        with self.session() as cur:
            result = cur.execute(sql)
            names = [d[0] for d in result.description or []]
            return names, result.fetchall()


def tally_sql(grid: WindowGrid, *, pick_first: bool) -> str:
    """Per (point, window): count(*) and the fingerprint sums of naia.domain.fingerprint — the
    very arithmetic of ``row_terms`` in BIGINT (every product below 2^63), sums in HUGEINT;
    Σ u² is summed whole (u² < 2^62) and reduced modulo P by ``tally_of``: one modulo per row
    less than ``row_terms``, the same residue.
    ``pick_first``: keep the request's points before the arithmetic (the table holds many other
    points in the range), else after the aggregate (cheaper when most rows are the request's).
    The rows are read from ``naia_values`` and named after the sums (the view's join per row
    cost the Test 3 scan ~0.25 of its 1.4 CPU s).
    Parameters: start, end (timestamps), points (VARCHAR[])."""
    start_us = _epoch_us(grid.start)
    step_us = grid.step // timedelta(microseconds=1)
    direct = _epoch_us(grid.end) - start_us <= MAX_DIRECT_SPAN_US  # K fits BIGINT
    k = f"x * {SEQ_SHIFT} + seq" if direct else f"(x % {P}) * {SEQ_SHIFT} + seq"
    scan = (
        f"SELECT point_id, seq_flags >> {FLAGS_WIDTH} AS seq, epoch_us(ts) - {start_us} AS x "
        f"FROM naia_values WHERE ts >= ? AND ts < ?{' AND ' + _PICKED if pick_first else ''}"
    )
    tallies = (
        "SELECT point_id, w, count(*) AS n, sum(x) AS a, sum(seq) AS b, sum(u) AS c, "
        f"sum(u * u) AS d FROM (SELECT point_id, x // {step_us} AS w, x, seq, ({k}) % {P} AS u "
        f"FROM ({scan})) GROUP BY ALL"
    )
    picked_after = "" if pick_first else f" WHERE {_PICKED}"
    return (
        f"SELECT p.source_address, t.w, t.n, t.a, t.b, t.c, t.d FROM ({tallies}) AS t "
        f"JOIN naia_points AS p USING (point_id){picked_after}"
    )


_SHARE = (
    f"SELECT count(*) FILTER (WHERE {_PICKED}), count(*) "
    "FROM (SELECT point_id FROM naia_values WHERE ts >= ? AND ts < ? "
    "USING SAMPLE 1 PERCENT (system))"
)
"""The request's share of the rows in its range, on a sample of DuckDB's vectors."""


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _sql(name: str) -> str:
    return resources.files("naia.stores.duckdb").joinpath(name).read_text()

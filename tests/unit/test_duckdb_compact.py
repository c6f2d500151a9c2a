"""The embedded store's compact layout: rows read back through ``point_data`` exactly as written,
names given ids only with rows that commit, and files of the earlier layout converted."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from naia.domain.errors import SourceTransientError, TerminalError
from naia.domain.model import Chunk
from naia.domain.schema import BATCH_SCHEMA, point_batch
from naia.stores.duckdb import DuckDbStore
from naia.stores.duckdb.compact import Names, compact

START = datetime(2026, 1, 9, tzinfo=UTC)
END = datetime(2026, 1, 10, tzinfo=UTC)
START_US = int(START.timestamp() * 1e6)
OLD_TABLE = """CREATE TABLE point_data (
    ts TIMESTAMPTZ NOT NULL, source_address VARCHAR NOT NULL, seq SMALLINT NOT NULL,
    value DOUBLE, state VARCHAR, good BOOLEAN NOT NULL, questionable BOOLEAN NOT NULL,
    substituted BOOLEAN NOT NULL, annotated BOOLEAN NOT NULL)"""
COLUMNS = "ts, source_address, seq, value, state, good, questionable, substituted, annotated"


def varied(point: str, n: int = 64, salt: int = 0) -> pa.RecordBatch:
    """Every flag combination, states on some rows (NULL value there), repeated timestamps."""
    rng = np.random.default_rng(salt)
    ts = START_US + np.sort(rng.integers(0, 86_400, n)) * 1_000_000
    bits = np.arange(n) + salt
    has_state = bits % 5 == 0
    states = [f"State {i % 3}" if s else None for i, s in enumerate(has_state)]
    value = np.where(has_state, np.nan, rng.random(n))
    return point_batch(
        point, ts, value, states, bits & 1 == 1,
        questionable=bits & 2 == 2, substituted=bits & 4 == 4, annotated=bits & 8 == 8,
    )  # fmt: skip


def plain(point: str, n: int = 40) -> pa.RecordBatch:
    """The common shape: every value good, no other flag, no state (whole columns skipped)."""
    ts = START_US + np.arange(n, dtype=np.int64) * 60_000_000
    return point_batch(point, ts, np.arange(n, dtype=np.float64), None, np.ones(n, dtype=bool))


def rows(batches: list[pa.RecordBatch]) -> list[tuple[object, ...]]:
    table = pa.Table.from_batches(batches, BATCH_SCHEMA)
    return sorted(zip(*(table.column(c).to_pylist() for c in COLUMNS.split(", ")), strict=True))


def stored(store: DuckDbStore) -> list[tuple[object, ...]]:
    return sorted(store.query(f"SELECT {COLUMNS} FROM point_data")[1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDbStore]:
    db = DuckDbStore(tmp_path / "naia.duckdb")
    yield db
    db.close()


def test_rows_read_back_through_point_data_exactly_as_written(store: DuckDbStore) -> None:
    written = [varied("A"), varied("B", salt=3), plain("P"), varied("A:B.1", 10, salt=7)]
    store.write_chunk(Chunk("r", 0, ("A", "B", "P", "A:B.1"), START, END), iter(written))
    assert stored(store) == rows(written)
    types = dict(store.query("SELECT column_name, data_type FROM duckdb_columns() "
                             "WHERE table_name = 'point_data'")[1])  # fmt: skip
    assert types == {
        "ts": "TIMESTAMP WITH TIME ZONE", "source_address": "VARCHAR", "seq": "SMALLINT",
        "value": "DOUBLE", "state": "VARCHAR", "good": "BOOLEAN", "questionable": "BOOLEAN",
        "substituted": "BOOLEAN", "annotated": "BOOLEAN",
    }  # fmt: skip


def test_a_sliced_batch_converts_from_its_offset() -> None:
    whole = varied("A", 50, salt=1)
    part = whole.slice(13, 21)
    back = compact(part, Names({}), Names({}, first=1))
    assert back.num_rows == 21
    flags = ("good", "questionable", "substituted", "annotated")
    expected = [
        (seq << 4) + int(g) + 2 * int(q) + 4 * int(s) + 8 * int(a)
        for seq, g, q, s, a in zip(
            *(part.column(c).to_pylist() for c in ("seq", *flags)), strict=True
        )
    ]
    assert back.column("seq_flags").to_pylist() == expected
    states = part.column("state").to_pylist()
    ids = back.column("state_id").to_pylist()
    assert [i == 0 for i in ids] == [s is None for s in states]  # 0: no state
    first_seen = dict.fromkeys(s for s in states if s)  # ids from 1, in order of appearance
    assert len(first_seen) == 3
    assert {s: i for s, i in zip(states, ids, strict=True) if s} == {
        name: k + 1 for k, name in enumerate(first_seen)
    }


def test_names_get_ids_only_with_rows_that_commit(store: DuckDbStore) -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        yield varied("NEW", salt=2)
        raise SourceTransientError("dropped")

    with pytest.raises(SourceTransientError):
        store.write_chunk(Chunk("r", 0, ("NEW",), START, END), failing())
    assert store.query("SELECT count(*) FROM naia_points")[1] == [(0,)]
    assert store.query("SELECT count(*) FROM naia_states")[1] == [(0,)]
    written = [varied("OTHER", salt=4), varied("NEW", salt=2)]
    store.write_chunk(Chunk("r", 0, ("OTHER", "NEW"), START, END), iter(written))
    assert stored(store) == rows(written)
    ids = store.query("SELECT point_id FROM naia_points ORDER BY 1")[1]
    assert ids == [(0,), (1,)]  # the rolled-back chunk's id was given again, not lost


def test_names_keep_their_ids_across_reopening(tmp_path: Path) -> None:
    first = [varied("A", salt=1)]
    store = DuckDbStore(tmp_path / "s.duckdb")
    store.write_chunk(Chunk("r", 0, ("A",), START, END), iter(first))
    store.close()
    store = DuckDbStore(tmp_path / "s.duckdb")
    second = [varied("B", salt=5), varied("A", salt=1)]
    store.write_chunk(Chunk("r", 1, ("B", "A"), START, END), iter(second))
    assert stored(store) == rows(second)  # A's window rewritten: one copy
    assert store.query("SELECT source_address FROM naia_points ORDER BY point_id")[1] == [
        ("A",),
        ("B",),
    ]
    store.close()


def old_layout_file(path: Path, batches: list[pa.RecordBatch]) -> None:
    con = duckdb.connect(str(path))
    con.execute(OLD_TABLE)
    con.register("old", pa.Table.from_batches(batches, BATCH_SCHEMA))
    con.execute("INSERT INTO point_data SELECT * FROM old")
    con.close()


def test_a_file_of_the_earlier_layout_is_converted_when_opened_for_writing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.duckdb"
    old = [varied("A", salt=1), varied("B", salt=2)]
    old_layout_file(path, old)
    reader = DuckDbStore(path, read_only=True)  # reads it as it is, changes nothing
    assert stored(reader) == rows(old)
    reader.close()
    store = DuckDbStore(path)
    assert "converting point_data (128 rows)" in caplog.text
    assert stored(store) == rows(old)
    assert store.query("SELECT count(*) FROM naia_values")[1] == [(128,)]
    more = [varied("C", salt=3)]
    store.write_chunk(Chunk("r", 0, ("C",), START, END), iter(more))
    store.close()
    caplog.clear()
    again = DuckDbStore(path)
    assert "converting" not in caplog.text
    assert stored(again) == rows(old + more)
    again.close()


def test_a_file_that_cannot_be_converted_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "odd.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE point_data (ts TIMESTAMPTZ, source_address VARCHAR, v DOUBLE)")
    con.execute("INSERT INTO point_data VALUES ('2026-01-09 00:00:00Z', 'A', 1.0)")
    con.close()
    with pytest.raises(TerminalError, match=r"cannot prepare the store .*odd\.duckdb"):
        DuckDbStore(path)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT source_address, v FROM point_data").fetchall() == [("A", 1.0)]
    assert con.execute("SELECT count(*) FROM naia_values").fetchall() == [(0,)]
    con.close()

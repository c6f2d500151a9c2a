"""Verification's first tier in QuestDB (distributed mode): the same count and key fingerprint
per (point, window) as the source side computes in numpy, so a row moved to another key is
seen although the counts agree (counts alone, as before, could not see it)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from naia.app.settings import NaiaSettings
from naia.app.wiring import QuestDbRows
from naia.domain.counting import tally_rows
from naia.domain.fingerprint import EMPTY
from naia.domain.model import WindowGrid
from naia.domain.timeparse import format_timestamp, from_us
from naia.orchestrator.verify import stored_counts
from naia.sinks.questdb.client import ensure_table, execute
from naia.sources.simulator import SimulatorSource
from tests.conftest import DAY_START
from tests.contract.source_contract import read_table
from tests.helpers import wait_for
from tests.integration.distributed import Slice

pytestmark = pytest.mark.services

POINTS = ("SINUSOID", "CDT158", "SINUSOIDU")
# windows not aligned to the hour, the last one cut short
GRID = WindowGrid(
    DAY_START + timedelta(minutes=7), DAY_START + timedelta(hours=3), timedelta(minutes=25)
)


def _rows() -> pa.Table:
    """The Simulator's rows of the grid, plus a second event at one timestamp (seq 1)."""
    table = read_table(SimulatorSource(), POINTS, GRID.start, GRID.end)
    twin = table.slice(40, 1).set_column(2, table.schema.field("seq"), pa.array([1], pa.int16()))
    return pa.concat_tables([table, twin])


def _load(s: Slice, rows: pa.Table) -> None:
    s.drop_table()
    ensure_table(s.questdb)
    ts = rows.column("ts").cast(pa.int64()).to_pylist()
    names = rows.column("source_address").to_pylist()
    seqs = rows.column("seq").to_pylist()
    values = [
        f"('{format_timestamp(from_us(t))}', '{p}', {q}, true)"
        for t, p, q in zip(ts, names, seqs, strict=True)
    ]
    for i in range(0, len(values), 40):  # the query travels in a URL: a few rows at a time
        rows_sql = ", ".join(values[i : i + 40])
        execute(
            s.questdb, f"INSERT INTO {s.table} (ts, source_address, seq, good) VALUES {rows_sql}"
        )
    wait_for(lambda: s.count() == rows.num_rows, 60, f"{rows.num_rows} rows in QuestDB")


def _counter(s: Slice) -> QuestDbRows:
    return QuestDbRows(NaiaSettings(questdb=s.questdb))


def test_questdb_tallies_equal_the_sources_numpy_tallies(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_tally_{time.time_ns()}")
    rows = _rows()
    _load(s, rows)
    try:
        wanted = tally_rows(rows.to_batches(), POINTS, GRID)
        stored = _counter(s).stored_tallies(POINTS, GRID)
        pairs = [(p, w) for p in POINTS for w in range(GRID.count)]
        assert sum(wanted.get(k, EMPTY).count for k in pairs) == rows.num_rows
        assert {k: stored.get(k, EMPTY) for k in pairs} == {k: wanted.get(k, EMPTY) for k in pairs}
    finally:
        s.drop_table()


def test_a_row_moved_to_another_key_is_reported_though_counts_agree(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_moved_{time.time_ns()}")
    rows = _rows()
    wanted = tally_rows(rows.to_batches(), POINTS, GRID)
    moved_at = rows.column("ts").cast(pa.int64()).to_pylist()[100] + 1  # 1 µs later, same window
    ts = rows.column("ts").cast(pa.int64()).to_pylist()
    ts[100] = moved_at
    _load(s, rows.set_column(0, rows.schema.field("ts"), pa.array(ts, pa.timestamp("us", "UTC"))))
    point = str(rows.column("source_address")[100])
    window = (moved_at - int(GRID.start.timestamp() * 1_000_000)) // (25 * 60 * 1_000_000)
    try:
        found = stored_counts(_counter(s), POINTS, GRID, wanted, GRID.count)
        assert found.differs == {(point, window)}
        assert found.rows[(point, window)] == wanted[(point, window)].count  # the counts agree
        assert found.duplicates == {}
    finally:
        s.drop_table()

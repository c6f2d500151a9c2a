"""Key fingerprints of verification: numpy (sources) and DuckDB SQL (store) agree exactly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from naia.domain.counting import tally_rows
from naia.domain.fingerprint import (
    EMPTY,
    MAX_DIRECT_SPAN_US,
    floor_sum,
    progression_tally,
    row_terms,
    tally_of,
)
from naia.domain.model import Chunk, WindowGrid
from naia.domain.schema import point_batch
from naia.domain.timeparse import from_us, to_us
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from naia.stores.duckdb import DuckDbStore
from naia.stores.duckdb.store import tally_sql

POINTS = ("A", "B", "C")


def random_batch(
    rng: np.random.Generator, point: str, start_us: int, end_us: int
) -> pa.RecordBatch:
    """Sorted random µs timestamps (sub-second fractions, repeats with seq > 0) in the range."""
    ts = rng.integers(start_us, end_us, size=2_000, dtype=np.int64)
    whole = rng.random(ts.shape[0]) < 0.3  # some on whole seconds, the rest with a fraction
    ts = np.sort(np.where(whole, ts - ts % 1_000_000, ts))
    ts = np.sort(np.concatenate([ts, ts[::7], ts[::50]]))  # same-timestamp events: seq 1, 2
    return point_batch(point, ts, np.zeros(ts.shape[0]), [None] * ts.shape[0],
                       np.ones(ts.shape[0], dtype=bool))  # fmt: skip


def store_with(path: Path, batches: list[pa.RecordBatch]) -> DuckDbStore:
    """The rows as they are (repeated keys too): one chunk over all time, nothing to clear."""
    store = DuckDbStore(path)
    everything = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    store.write_chunk(Chunk("fingerprint", 0, POINTS, *everything), batches)
    return store


@pytest.mark.parametrize(
    ("start", "span", "step"),
    [
        (
            datetime(1969, 12, 20, 3, 0, 0, 123457, tzinfo=UTC),
            timedelta(days=40),
            timedelta(days=7),
        ),
        (datetime(2026, 1, 9, tzinfo=UTC), timedelta(hours=5), timedelta(minutes=50)),
        (datetime(1965, 6, 1, tzinfo=UTC), timedelta(days=365 * 6), timedelta(days=400)),
    ],
)
def test_numpy_and_duckdb_tallies_agree(
    tmp_path: Path, start: datetime, span: timedelta, step: timedelta
) -> None:
    """Pre-1970 grids, µs fractions, seq of 2 and more, a grid longer than MAX_DIRECT_SPAN_US (the
    SQL's other arithmetic form): every (point, window) tally is equal on both sides."""
    grid = WindowGrid(start, start + span, step)
    rng = np.random.default_rng(7)
    a, b = to_us(grid.start), to_us(grid.end)
    batches = [random_batch(rng, p, a - 10**9, b + 10**9) for p in POINTS]  # rows outside too
    assert max(batch.column("seq").to_numpy().max() for batch in batches) >= 2
    store = store_with(tmp_path / "s.duckdb", batches)
    in_sql = store.stored_tallies(POINTS, grid)
    in_numpy = tally_rows(iter(batches), POINTS, grid)
    assert in_sql == in_numpy
    assert len(in_numpy) == len(POINTS) * grid.count
    for pick_first in (True, False):  # the request's points picked before / after the sums
        with store.session() as cur:
            rows = cur.execute(tally_sql(grid, pick_first=pick_first),
                               [grid.start, grid.end, ["B"]]).fetchall()  # fmt: skip
        picked = {(p, w): tally_of(n, (a, b, c, d)) for p, w, n, a, b, c, d in rows}
        assert picked == tally_rows(iter(batches), ["B"], grid)
    assert (span.total_seconds() * 1e6 > MAX_DIRECT_SPAN_US) == (span.days > 365 * 5)


def test_a_lost_and_a_doubled_row_change_the_tally_but_not_the_count() -> None:
    ts = np.arange(0, 60_000_000, 1_000_000, dtype=np.int64)
    grid = WindowGrid(from_us(0), from_us(60_000_000), timedelta(minutes=1))
    seq = np.zeros(ts.shape[0], dtype=np.int16)
    clean = tally_rows([point_batch("A", ts, ts * 0.0, [None] * 60, seq == 0)], ["A"], grid)
    damaged_ts = np.sort(np.concatenate([np.delete(ts, 10), ts[40:41]]))
    damaged = point_batch(
        "A", damaged_ts, damaged_ts * 0.0, [None] * 60, seq == 0, seq=np.zeros(60, dtype=np.int16)
    )  # the doubled row: same key twice
    found = tally_rows([damaged], ["A"], grid)
    assert found[("A", 0)].count == clean[("A", 0)].count == 60
    assert found[("A", 0)] != clean[("A", 0)]


def test_floor_sum_is_exact() -> None:
    rng = random.Random(3)
    for _ in range(300):
        n, m = rng.randrange(0, 60), rng.randrange(1, 10**12)
        a, b = rng.randrange(0, 10**15), rng.randrange(0, 10**15)
        assert floor_sum(n, m, a, b) == sum((a * j + b) // m for j in range(n))


def test_the_closed_form_of_a_progression_equals_its_rows() -> None:
    rng = random.Random(5)
    for _ in range(100):
        n = rng.randrange(0, 500)
        step, first = rng.randrange(1, 10**8), rng.randrange(0, 10**13)
        rel = np.arange(n, dtype=np.int64) * step + first
        terms = row_terms(rel, np.zeros(n, dtype=np.int16))
        rows = tally_of(n, (int(terms[0].sum()), 0, int(terms[2].sum()), int(terms[3].sum())))
        assert progression_tally(n, step, first) == (rows if n else EMPTY)


@pytest.mark.parametrize("settings", [SimulatorSettings(), SimulatorSettings(defaults=REALISTIC)])
@pytest.mark.parametrize(
    "start", [datetime(2026, 1, 9, 0, 0, 30, tzinfo=UTC), datetime(1969, 12, 31, 20, 7, tzinfo=UTC)]
)
def test_simulator_tallies_equal_the_tallies_of_what_it_reads(
    settings: SimulatorSettings, start: datetime
) -> None:
    """Regular points in closed form, irregular ones (REALISTIC: fractions, same-timestamp
    events with seq 1) from their timestamps: equal to the tally of the very rows ``read``."""
    source = SimulatorSource(settings)
    grid = WindowGrid(start, start + timedelta(days=2, hours=5), timedelta(hours=7))
    points = ("SINUSOID", "CDT158", "BA:ACTIVE.1")
    tallied = source.tally_events(points, grid)
    assert tallied == tally_rows(source.read(points, grid.start, grid.end), points, grid)
    assert sum(t.count for t in tallied.values()) > 0


def test_seven_digit_timestamps_before_1970_tally_alike_in_numpy_and_duckdb(
    tmp_path: Path,
) -> None:
    """PI Web API timestamps with 100-ns digits around the epoch, decoded as the connector
    decodes them (sub-µs digits floored), repeats numbered by seq: both sides agree."""
    from naia.sources.piwebapi.decode import timestamps_us

    rng = np.random.default_rng(11)
    base = datetime(1969, 12, 31, 12, tzinfo=UTC)
    ticks = np.sort(rng.integers(0, 36 * 3600 * 10**7, size=3_000))  # 100-ns ticks, 36 hours
    ticks = np.sort(np.concatenate([ticks, ticks[::9]]))
    stamps = [
        (base + timedelta(microseconds=int(t) // 10)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        + f"{int(t) % 10}Z"
        for t in ticks
    ]
    ts = timestamps_us(stamps)
    assert ts.min() < 0 < ts.max() and len(stamps[0]) == len("1969-12-31T12:00:00.1234567Z")
    batch = point_batch("A", ts, np.zeros(ts.shape[0]), None, np.ones(ts.shape[0], dtype=bool))
    assert int(batch.column("seq").to_numpy().max()) >= 1
    grid = WindowGrid(base, base + timedelta(hours=36), timedelta(hours=5))
    store = store_with(tmp_path / "s.duckdb", [batch])
    assert store.stored_tallies(["A"], grid) == tally_rows([batch], ["A"], grid)

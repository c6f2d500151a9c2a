"""QuestDbSink on the real QuestDB: every kind of batch lands, exactly once per key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from naia.sinks.questdb.client import execute, stored_count
from naia.sinks.questdb.sink import QuestDbSink
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.helpers import wait_for
from tests.integration.distributed import QDB_PORT, wait_applied

pytestmark = pytest.mark.services
START, END = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize("options", [PointOptions(), REALISTIC], ids=["plain", "realistic"])
def test_batches_with_and_without_states_land_once(options: PointOptions) -> None:
    from naia.sinks.questdb.settings import QuestDbSettings

    settings = QuestDbSettings(http_port=QDB_PORT, table=f"t_sink_{uuid.uuid4().hex[:8]}")
    sink = QuestDbSink(settings)
    points = ("SINUSOID", "CDM158", "SIM.3")
    source = SimulatorSource(SimulatorSettings(defaults=options, batch_rows=1000))
    expected = 0
    try:
        for _ in range(2):  # a re-delivery: DEDUP keeps one row per (ts, source_address, seq)
            for batch in source.read(points, START, END):
                sink.write(batch)
                expected += batch.num_rows
            sink.flush()
        expected //= 2
        wait_applied(settings)
        assert stored_count(settings, points, START, END) == expected
        states = execute(settings, f"SELECT count() FROM {settings.table} WHERE state = 'Auto'")
        assert int(states["dataset"][0][0]) > 0  # digital states arrive as symbols
    finally:
        sink.close()
        execute(settings, f"DROP TABLE IF EXISTS {settings.table}")


def _flagged(batch: pa.RecordBatch, rng: np.random.Generator) -> pa.RecordBatch:
    """The batch with rare quality flags set on a few rows (the Simulator sets none)."""
    for name in ("questionable", "substituted", "annotated", "good"):
        flags = batch.column(name).to_numpy(zero_copy_only=False).copy()
        hit = rng.random(batch.num_rows) < 0.03
        flags[hit] = not flags[hit][0] if name == "good" else True
        index = batch.schema.get_field_index(name)
        batch = batch.set_column(index, batch.schema.field(index), pa.array(flags))
    return batch


@pytest.mark.parametrize(
    "cut",
    [
        {"connections": 1},
        {"connections": 2, "min_rows_to_split": 100},
        {"connections": 3, "min_rows_to_split": 100, "rows_per_request": 250},
    ],
    ids=["one-request", "split-over-2-connections", "waves-over-3-connections"],
)
def test_every_column_round_trips_including_left_out_defaults(cut: dict[str, int]) -> None:
    """Rows go without false rare flags and without seq 0 (QuestDB's defaults): what comes
    back must equal, column by column, what went in — flags set, seq > 0 and states included —
    however the cycle is cut into requests and spread over connections."""
    from naia.sinks.questdb.settings import QuestDbSettings

    table = f"t_cols_{uuid.uuid4().hex[:8]}"
    settings = QuestDbSettings(http_port=QDB_PORT, table=table, **cut)
    sink = QuestDbSink(settings)
    rng = np.random.default_rng(7)
    dense = REALISTIC.model_copy(update={"same_timestamp_rate": 0.2})
    source = SimulatorSource(SimulatorSettings(defaults=dense, batch_rows=700))
    points = ("SINUSOID", "BA:ACTIVE.1", "SIM.3")
    sent = pa.Table.from_batches([_flagged(b, rng) for b in source.read(points, START, END)])
    try:
        for batch in sent.to_batches():
            sink.write(batch)
        sink.flush()
        wait_for(lambda: stored_count(settings, points, START, END) >= sent.num_rows, 60, "rows")
        body = execute(
            settings,
            f"SELECT ts, source_address, seq, value, state, good, questionable, substituted, "
            f"annotated FROM {settings.table} ORDER BY ts, source_address, seq",
        )
    finally:
        sink.close()
        execute(settings, f"DROP TABLE IF EXISTS {settings.table}")
    columns = ["ts", "source_address", "seq", "value", "state", "good", "questionable",
               "substituted", "annotated"]  # fmt: skip
    want = sorted(zip(*(sent.column(c).to_pylist() for c in columns), strict=True))
    want = [(row[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), *row[1:]) for row in want]
    got = [tuple(row) for row in body["dataset"]]
    assert len(got) == len(want) == sent.num_rows
    assert got == want
    assert any(row[2] > 0 for row in want) and any(row[6] for row in want)
    assert any(row[4] is not None for row in want) and any(not row[5] for row in want)


def test_a_rejected_request_fails_the_cycle_and_leaves_the_sink_usable() -> None:
    """QuestDB refuses every request of a cycle spread over two connections (here: a column of
    another type): flush raises TransientError — the worker then commits nothing — once both
    requests answered; a new sink writes the same cycle once the cause is gone."""
    from naia.domain.errors import TransientError
    from naia.sinks.questdb.settings import QuestDbSettings

    table = f"t_reject_{uuid.uuid4().hex[:8]}"
    settings = QuestDbSettings(
        http_port=QDB_PORT, table=table, connections=2, min_rows_to_split=100
    )
    wrong = "ts TIMESTAMP, source_address SYMBOL, value VARCHAR, good BOOLEAN"
    execute(settings, f"CREATE TABLE {table} ({wrong}) TIMESTAMP(ts) PARTITION BY MONTH WAL")
    sink = QuestDbSink(settings)
    points = ("SINUSOID", "SIM.3")
    batches = list(SimulatorSource(SimulatorSettings(batch_rows=1000)).read(points, START, END))
    try:
        for batch in batches:
            sink.write(batch)
        with pytest.raises(TransientError, match="QuestDB flush failed"):
            sink.flush()
        wait_applied(settings)
        assert int(execute(settings, f"SELECT count() FROM {table}")["dataset"][0][0]) == 0
        sink.close()  # returns: no request is left hanging on either connection
        execute(settings, f"DROP TABLE {table}")
        sink = QuestDbSink(settings)  # a restarted worker: the table made right, messages again
        for batch in batches:
            sink.write(batch)
        sink.flush()
        expected = sum(b.num_rows for b in batches)
        wait_for(lambda: stored_count(settings, points, START, END) >= expected, 60, "rows")
        assert stored_count(settings, points, START, END) == expected
    finally:
        sink.close()
        execute(settings, f"DROP TABLE IF EXISTS {table}")

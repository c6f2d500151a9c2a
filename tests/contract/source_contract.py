"""The contract every Source passes: same events as the Simulator, value for value.

Each source's test module calls :func:`assert_same_as_simulator` with its own source built over
the same Simulator settings. Comparison is exact: count, and every column of every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from naia.domain.ports import Source
from naia.domain.schema import BATCH_SCHEMA
from naia.sources.simulator import SimulatorSettings, SimulatorSource

SORT_KEYS = [("source_address", "ascending"), ("ts", "ascending"), ("seq", "ascending")]


def read_table(source: Source, points: Sequence[str], start: datetime, end: datetime) -> pa.Table:
    batches = list(source.read(points, start, end))
    for batch in batches:
        assert batch.schema.equals(BATCH_SCHEMA), batch.schema
    table = pa.Table.from_batches(batches, schema=BATCH_SCHEMA)
    table = table.cast(BATCH_SCHEMA.set(1, pa.field("source_address", pa.string(), False)))
    return table.sort_by(SORT_KEYS)


def assert_same_as_simulator(
    source: Source,
    settings: SimulatorSettings,
    points: Sequence[str],
    start: datetime,
    end: datetime,
) -> pa.Table:
    """Assert ``source`` yields exactly the Simulator's events for [start, end); return them."""
    expected = read_table(SimulatorSource(settings), points, start, end)
    actual = read_table(source, points, start, end)
    assert actual.num_rows == expected.num_rows, (actual.num_rows, expected.num_rows)
    for name in BATCH_SCHEMA.names:
        assert actual.column(name).equals(expected.column(name)), f"column {name} differs"
    assert actual.num_rows > 0
    return actual

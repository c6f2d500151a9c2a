"""QuestDbSink on the real QuestDB: every kind of batch lands, exactly once per key."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from naia.sinks.questdb.sink import QuestDbSink, execute, stored_count
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.helpers import wait_for
from tests.integration.distributed import QDB_PORT

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
        wait_for(lambda: stored_count(settings, points, START, END) >= expected, 60, "rows")
        time.sleep(1)
        assert stored_count(settings, points, START, END) == expected
        states = execute(settings, f"SELECT count() FROM {settings.table} WHERE state = 'Auto'")
        assert int(states["dataset"][0][0]) > 0  # digital states arrive as symbols
    finally:
        sink.close()
        execute(settings, f"DROP TABLE IF EXISTS {settings.table}")

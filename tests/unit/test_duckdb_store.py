from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from naia.domain.errors import SourceTransientError
from naia.domain.model import BackfillSpec, ConnectorType, RequestStatus, WorkUnit
from naia.orchestrator import Orchestrator
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from naia.stores.duckdb import DuckDbStore
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import read_table
from tests.doubles.sources import Provider

UNIT = WorkUnit("req", 0, SEED_POINTS, DAY_START, DAY_END)
SEED_QUERY = (
    "SELECT COUNT(*) FROM point_data WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDbStore]:
    db = DuckDbStore(tmp_path / "naia.duckdb")
    yield db
    db.close()


def count(store: DuckDbStore, sql: str = "SELECT count(*) FROM point_data") -> int:
    return int(store.query(sql)[1][0][0])  # type: ignore[call-overload]


def batches(unit: WorkUnit = UNIT) -> Iterator[pa.RecordBatch]:
    return SimulatorSource(SimulatorSettings(batch_rows=500)).read(
        unit.points, unit.start, unit.end
    )


def test_chunk_and_checkpoint_commit_together(store: DuckDbStore) -> None:
    written = store.write_chunk(UNIT, batches())
    assert written.values == 4320 and count(store) == 4320
    [checkpoint] = store.checkpoints("req")
    assert (checkpoint.unit_index, checkpoint.values, checkpoint.batches) == (
        0,
        4320,
        written.batches,
    )


def test_a_failure_mid_chunk_leaves_neither_rows_nor_checkpoint(store: DuckDbStore) -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        source = batches()
        yield next(source)
        yield next(source)
        raise SourceTransientError("dropped")

    with pytest.raises(SourceTransientError):
        store.write_chunk(UNIT, failing())
    assert count(store) == 0 and store.checkpoints("req") == []


def test_rewriting_a_window_leaves_one_copy(store: DuckDbStore) -> None:
    store.write_chunk(UNIT, batches())
    store.write_chunk(UNIT, batches())
    assert count(store) == 4320
    one = WorkUnit("req2", 0, ("SINUSOID",), DAY_START, DAY_START + timedelta(hours=1))
    store.write_chunk(one, batches(one))
    assert count(store) == 4320
    assert count(store, "SELECT count(DISTINCT (ts, source_address, seq)) FROM point_data") == 4320


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    first = DuckDbStore(path)
    first.write_chunk(UNIT, batches())
    first.close()
    again = DuckDbStore(path, read_only=True)
    assert count(again, SEED_QUERY) == 4320
    again.close()


@pytest.mark.parametrize("chunk", [timedelta(minutes=7), timedelta(hours=1), timedelta(days=2)])
def test_chunked_backfill_equals_one_read_of_realistic_data(
    store: DuckDbStore, chunk: timedelta
) -> None:
    settings = SimulatorSettings(defaults=REALISTIC)
    points = ("SINUSOID", "CDM158", "BA:TEMP.1")
    orch = Orchestrator(Provider(SimulatorSource(settings)), store, store)
    request_id = orch.submit(
        BackfillSpec(ConnectorType.SIMULATOR, points, DAY_START, DAY_END, chunk)
    ).request_id
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.COMPLETED
    expected = read_table(SimulatorSource(settings), points, DAY_START, DAY_END)
    cur = store.cursor()
    actual = cur.sql("SELECT * FROM point_data ORDER BY source_address, ts, seq").to_arrow_table()
    cur.close()
    assert actual.num_rows == expected.num_rows
    for name in ("seq", "value", "state", "good"):
        assert actual[name].to_pylist() == expected[name].to_pylist(), name
    assert [t.timestamp() for t in actual["ts"].to_pylist()] == [
        t.timestamp() for t in expected["ts"].to_pylist()
    ]


def test_rerunning_a_request_leaves_one_copy(store: DuckDbStore) -> None:
    orch = Orchestrator(Provider(), store, store)
    for _ in range(2):
        orch.submit(BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END,
                                 timedelta(hours=1)))  # fmt: skip
        orch.run_pending()
    assert count(store, SEED_QUERY) == 4320
    assert orch.stats().completed_requests == 2


def test_memory_limit_is_applied_and_can_be_left_to_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "limits.duckdb"
    writer = DuckDbStore(path, memory_limit="48MB")
    setting = "SELECT current_setting('memory_limit')"
    limited = str(writer.query(setting)[1][0][0])
    writer.close()
    reader = DuckDbStore(path, read_only=True, memory_limit=None)
    default = str(reader.query(setting)[1][0][0])
    reader.close()
    assert limited == "45.7 MiB"  # DuckDB reports 48 MB in MiB
    assert default != limited

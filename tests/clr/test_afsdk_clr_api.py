"""A backfill with connectorType PIAfSdk through the API, on Linux, against the stand-in: the
app's own loader finds it through the assembly_dir setting (NAIA_AFSDK__ASSEMBLY_DIR), and the
stored events are exactly the Simulator's. Embedded (DuckDB) and distributed (the shared Kafka
and QuestDB)."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from naia.sinks.questdb.client import execute
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.clr.standin import REALISTIC as REALISTIC_SERVER
from tests.clr.standin import STANDIN_DIR, standin_sdk
from tests.contract.source_contract import read_table
from tests.helpers import api_up, free_port, naia, request_data, wait_for

pytestmark = pytest.mark.clr

ACTIVE = ("Queued", "Running")
POINTS = ["SINUSOID", "CDT158", "CDM158", "BA:PHASE.1"]
START, END = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)
BODY = {
    "connectorType": "PIAfSdk", "pointAddresses": POINTS,
    "startTime": "2026-01-09T00:00:00Z", "endTime": "2026-01-11T00:00:00Z",
    "chunkSize": "06:00:00",
}  # fmt: skip
AFSDK_ENV = {
    "NAIA_AFSDK__ASSEMBLY_DIR": str(STANDIN_DIR),
    "NAIA_AFSDK__DATA_ARCHIVE": REALISTIC_SERVER,
    "NAIA_AFSDK__PAGE_TYPE": "EventCount",
    "NAIA_AFSDK__PAGE_SIZE": "500",  # several pages, points in parts
}
COLUMNS = ("source_address", "seq", "value", "state", "good")


def expected_table() -> pa.Table:
    return read_table(SimulatorSource(SimulatorSettings(defaults=REALISTIC)), POINTS, START, END)


def start_backfill(url: str) -> str:
    health = httpx.get(f"{url}/health", timeout=30).json()["data"]
    assert health["connectors"]["PIAfSdk"]["available"] is True, health["connectors"]
    response = httpx.post(f"{url}/api/backfill/start", json=BODY, timeout=30)
    assert response.status_code == 200, response.text
    request_id: str = response.json()["data"]["requestId"]
    return request_id


def finish(url: str, request_id: str, timeout: float = 180) -> dict[str, Any]:
    wait_for(lambda: request_data(url, request_id)["status"] not in ACTIVE, timeout, "the end")
    final = request_data(url, request_id)
    assert final["status"] == "Completed", final
    return final


def assert_same_rows(actual: pa.Table, expected: pa.Table) -> None:
    assert actual.num_rows == expected.num_rows
    for name in COLUMNS:
        assert actual[name].to_pylist() == expected[name].to_pylist(), name
    as_us = [pc.cast(t["ts"], pa.int64()).to_pylist() for t in (actual, expected)]
    assert as_us[0] == as_us[1]


def test_embedded_backfill_through_the_api_equals_the_simulator(tmp_path: Path) -> None:
    standin_sdk()  # fails (not skips) when the stand-in was not built
    port = free_port()
    url, db = f"http://127.0.0.1:{port}", tmp_path / "afsdk.duckdb"
    api = naia("api", "--port", str(port), "--db", str(db), env=AFSDK_ENV, log=tmp_path / "api.log")
    try:
        wait_for(lambda: api_up(url), 60, "the API")
        final = finish(url, start_backfill(url))
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
    expected = expected_table()
    con = duckdb.connect(str(db), read_only=True)
    try:
        actual = con.sql(
            "SELECT source_address, ts, seq, value, state, good FROM point_data "
            "ORDER BY source_address, ts, seq"
        ).to_arrow_table()
    finally:
        con.close()
    assert final["pointsProcessed"] == expected.num_rows
    assert pc.max(expected["seq"]).as_py() >= 1 and pc.sum(pc.invert(expected["good"])).as_py() > 0
    assert_same_rows(actual, expected)


@pytest.mark.services
def test_distributed_backfill_through_kafka_into_questdb_equals_the_simulator(
    tmp_path: Path,
) -> None:
    from tests.integration.distributed import Slice, stop

    standin_sdk()
    s = Slice(tmp_path, table=f"pd_afsdk_{uuid.uuid4().hex[:8]}")
    s.drop_table()
    expected = expected_table()
    worker = s.start_worker()
    try:
        with s.api(**AFSDK_ENV) as url:
            final = finish(url, start_backfill(url))
            assert final["pointsProcessed"] == expected.num_rows
            wait_for(lambda: _count(s) >= expected.num_rows, 180, "rows in QuestDB")
            s.wait_settled()  # from here the count is final: an excess row would show
    finally:
        stop(worker)
    assert s.count() == expected.num_rows and s.distinct() == expected.num_rows
    assert_same_rows(_questdb_rows(s), expected)


def _count(s: Any) -> int:
    try:
        return int(s.count())
    except Exception:  # the table appears with the first rows
        return 0


def _questdb_rows(s: Any) -> pa.Table:
    body = execute(
        s.questdb,
        f"SELECT source_address, cast(ts AS LONG) ts, seq, value, state, good FROM {s.table} "
        "ORDER BY source_address, ts, seq",
    )
    names = [c["name"] for c in body["columns"]]
    rows = body["dataset"]
    data = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return pa.table(
        {
            "source_address": pa.array(data["source_address"], pa.string()),
            "ts": pa.array(data["ts"], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "seq": pa.array(data["seq"], pa.int16()),
            "value": pa.array(data["value"], pa.float64()),
            "state": pa.array(data["state"], pa.string()),
            "good": pa.array(data["good"], pa.bool_()),
        }
    )

"""PIWebApi through the API into the embedded store, against the emulator over real HTTP."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pyarrow.compute as pc
from prometheus_client.parser import text_string_to_metric_families

from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.contract.source_contract import read_table
from tests.helpers import api_up, free_port, naia, request_data, wait_for

ACTIVE = ("Queued", "Running")
POINTS = ["SINUSOID", "CDT158", "CDM158", "BA:PHASE.1"]
START, END = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)


def emulator_up(url: str) -> bool:
    return httpx.get(f"{url}/piwebapi/system", timeout=2).status_code == 200


def test_piwebapi_backfill_equals_the_simulator(tmp_path: Path) -> None:
    em_port, api_port = free_port(), free_port()
    em_url, api_url = f"http://127.0.0.1:{em_port}", f"http://127.0.0.1:{api_port}"
    db = tmp_path / "piwebapi.duckdb"
    emulator = naia("emulator", "--port", str(em_port), log=tmp_path / "emulator.log")
    env = {
        "NAIA_PIWEBAPI__BASE_URL": f"{em_url}/piwebapi",
        "NAIA_PIWEBAPI__DATA_ARCHIVE": "NAIA-PI",
        "NAIA_PIWEBAPI__PAGE_SIZE": "500",  # several pages per point and chunk
    }
    api = naia("api", "--port", str(api_port), "--db", str(db), env=env, log=tmp_path / "api.log")
    try:
        wait_for(lambda: emulator_up(em_url), 30, "the emulator")
        wait_for(lambda: api_up(api_url), 30, "the API")
        health = httpx.get(f"{api_url}/health").json()["data"]
        assert health["connectors"]["PIWebApi"]["available"] is True
        body = {
            "connectorType": "PIWebApi", "pointAddresses": POINTS,
            "startTime": "2026-01-09T00:00:00Z", "endTime": "2026-01-11T00:00:00Z",
            "chunkSize": "06:00:00",
        }  # fmt: skip
        response = httpx.post(f"{api_url}/api/backfill/start", json=body, timeout=30)
        assert response.status_code == 200, response.text
        request_id = response.json()["data"]["requestId"]
        wait_for(lambda: request_data(api_url, request_id)["status"] not in ACTIVE, 120, "the end")
        final = request_data(api_url, request_id)
        assert final["status"] == "Completed", final
        metrics = httpx.get(f"{api_url}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        latency = families["naia_pi_request_duration_seconds"]
        [count] = [s.value for s in latency.samples if s.name.endswith("_count")
                   and s.labels.get("connector") == "PIWebApi"]  # fmt: skip
        assert count >= 8  # at least one request per chunk
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(30)
    expected = read_table(
        SimulatorSource(SimulatorSettings(defaults=REALISTIC)), POINTS, START, END
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        actual = con.sql(
            "SELECT source_address, ts, seq, value, state, good FROM point_data "
            "ORDER BY source_address, ts, seq"
        ).to_arrow_table()
    finally:
        con.close()
    assert final["pointsProcessed"] == expected.num_rows == actual.num_rows
    assert pc.max(expected["seq"]).as_py() >= 1  # same-timestamp runs were crossed
    assert pc.sum(pc.invert(expected["good"])).as_py() > 0  # system states were carried
    for name in ("seq", "value", "state", "good"):
        assert actual[name].to_pylist() == expected[name].to_pylist(), name
    assert [t.timestamp() for t in actual["ts"].to_pylist()] == [
        t.timestamp() for t in expected["ts"].to_pylist()
    ]

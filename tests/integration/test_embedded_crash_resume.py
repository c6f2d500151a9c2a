"""kill -9 of `naia api` mid-request, restart: exactly the expected rows, none doubled."""

import signal
from pathlib import Path

import httpx

from tests.helpers import TEST1, api_up, db_count, free_port, naia, request_data, wait_for

SEED_QUERY = (
    "SELECT COUNT(*) FROM point_data WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"
)


def test_sigkill_mid_request_then_restart_resumes_exactly(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slow = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "900"}  # ~0.2 s per chunk
    args = ("api", "--port", str(port), "--db", str(db))

    log = tmp_path / "api.log"
    first = naia(*args, env=slow, log=log)
    try:
        wait_for(lambda: api_up(url), 30, "the API")
        request_id = httpx.post(f"{url}/api/backfill/start", json=TEST1).json()["data"]["requestId"]
        wait_for(lambda: request_data(url, request_id)["completedChunks"] >= 5, 30, "5 chunks")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = db_count(db, "SELECT count(*) FROM naia_checkpoints")
    assert 5 <= killed_at < 24, "the kill must land mid-request"
    assert db_count(db, SEED_QUERY) == killed_at * 180  # committed chunks only

    second = naia(*args, log=log)
    try:
        wait_for(lambda: api_up(url), 30, "the API after restart")
        resumed = request_data(url, request_id)
        assert resumed["completedChunks"] >= killed_at  # resumed, not restarted
        wait_for(lambda: request_data(url, request_id)["status"] == "Completed", 60, "completion")
        final = request_data(url, request_id)
        assert final["pointsProcessed"] == 4320 and final["completedChunks"] == 24
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert db_count(db, SEED_QUERY) == 4320
    assert db_count(db, "SELECT count(DISTINCT (ts, source_address, seq)) FROM point_data") == 4320
    assert db_count(db, "SELECT count(*) FROM naia_checkpoints") == 24

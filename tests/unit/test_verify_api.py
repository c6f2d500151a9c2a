"""POST /api/backfill/request/{id}/verify: background verification, repair, 404/409, metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from naia.api.app import create_app
from naia.app.settings import load_settings
from naia.app.wiring import Runtime, build_runtime
from naia.stores.duckdb import DuckDbStore

TEST1 = {
    "connectorType": "Simulator", "pointAddresses": ["SINUSOID", "CDT158", "SINUSOIDU"],
    "startTime": "2026-01-09T00:00:00Z", "endTime": "2026-01-10T00:00:00Z",
    "chunkSize": "01:00:00",
}  # fmt: skip


def wait_done(client: TestClient, request_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"/api/backfill/request/{request_id}").json()["data"]
        if data["status"] not in ("Queued", "Running"):
            return data
        time.sleep(0.05)
    raise AssertionError("request did not finish")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(load_settings(store={"path": tmp_path / "api.duckdb"}))
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def verification(client: TestClient, request_id: str, timeout: float = 30) -> dict[str, Any]:
    """The request's verification once it has left Running/Repairing (and the request ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/api/backfill/request/{request_id}").json()["data"]
        found = data["verification"]
        if found and found["status"] not in ("Running", "Repairing") and data["status"] not in (
            "Queued", "Running",
        ):  # fmt: skip
            return dict(found)
        time.sleep(0.05)
    raise AssertionError("verification did not finish")


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_verify_and_repair_through_the_api(client: TestClient, runtime: Runtime) -> None:
    request_id = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
    wait_done(client, request_id)
    assert client.get(f"/api/backfill/request/{request_id}").json()["data"]["verification"] is None

    response = client.post(f"/api/backfill/request/{request_id}/verify")
    assert response.status_code == 202 and response.json()["data"]["requestId"] == request_id
    clean = verification(client, request_id)
    assert clean["status"] == "Verified" and clean["mismatchedWindows"] == 0
    assert clean["windowsChecked"] == 72 and clean["sourceEvents"] == clean["storedEvents"] == 4320
    assert metric(client, "naia_verify_windows_verified_total") == 72

    store = runtime.orchestrator._counter
    assert isinstance(store, DuckDbStore)
    store.query(
        "DELETE FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'SINUSOIDU') "
        "AND ts >= '2026-01-09 07:00:00Z' AND ts < '2026-01-09 07:30:00Z'"
    )
    client.post(f"/api/backfill/request/{request_id}/verify")
    found = verification(client, request_id)
    assert found["status"] == "Mismatched" and found["mismatchedWindows"] == 1
    assert found["mismatches"] == [{
        "point": "SINUSOIDU", "window": 7, "start": "2026-01-09T07:00:00Z",
        "end": "2026-01-09T08:00:00Z", "sourceCount": 60, "storedCount": 30, "duplicates": 0,
    }]  # fmt: skip
    assert metric(client, "naia_verify_windows_mismatched_total") == 1

    client.post(f"/api/backfill/request/{request_id}/verify?repair=true")
    mended = verification(client, request_id)
    assert mended["status"] == "Verified" and mended["repairedChunks"] == [7]
    assert mended["storedEvents"] == 4320


def test_unknown_request_is_404_and_a_running_one_409(client: TestClient) -> None:
    missing = client.post("/api/backfill/request/nope/verify")
    assert missing.status_code == 404 and missing.json()["success"] is False
    long = {**TEST1, "endTime": "2027-01-09T00:00:00Z", "chunkSize": "1.00:00:00"}
    request_id = client.post("/api/backfill/start", json=long).json()["data"]["requestId"]
    busy = client.post(f"/api/backfill/request/{request_id}/verify")
    assert busy.status_code == 409
    body = busy.json()
    assert body["success"] is False and "verify it once it has ended" in body["error"]
    client.post(f"/api/backfill/request/{request_id}/cancel")


def test_the_dashboard_shows_the_verification() -> None:
    root = Path(__file__).parents[2] / "src/naia/api/static"
    page = (root / "index.html").read_text()
    script = (root / "dashboard.js").read_text()
    assert 'id="verify-state"' in page and 'id="verify-mismatches"' in page
    assert "windows differ" in script and "/verify" in script

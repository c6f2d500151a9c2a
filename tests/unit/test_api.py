from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from naia.api.app import create_app
from naia.app.settings import load_settings
from naia.app.wiring import build_runtime
from tests.helpers import TEST1, wait_done


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(
        store={"path": tmp_path / "api.duckdb"},
        orchestrator={"max_points": 5, "max_chunks": 100},
    )
    runtime = build_runtime(settings)
    with TestClient(create_app(runtime)) as test_client:
        yield test_client
    runtime.close()


def test_seed_test1_through_the_api(client: TestClient) -> None:
    response = client.post("/api/backfill/start", json=TEST1)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["connectorType"] == "Simulator" and data["pointCount"] == 3
    assert data["status"] == "Queued" and data["chunkSize"] == "01:00:00"
    assert data["startTime"] == "2026-01-09T00:00:00Z"
    assert data["message"] == "Backfill queued: 3 points from 2026-01-09 to 2026-01-10"
    done = wait_done(client, data["requestId"])
    assert done["status"] == "Completed" and done["progress"] == 100.0
    assert (done["totalChunks"], done["completedChunks"], done["failedChunks"]) == (24, 24, 0)
    assert done["pointsProcessed"] == 4320 and done["pointAddresses"] == TEST1["pointAddresses"]
    status = client.get("/api/backfill/status").json()["data"]
    assert status["stats"]["completedRequests"] == 1
    assert status["stats"]["totalPointsBackfilled"] == 4320
    assert status["queueDepth"] == 0 and status["activeRequests"] == []
    chunks = client.get(f"/api/backfill/request/{data['requestId']}/chunks").json()["data"]
    assert chunks["states"] == ["done"] * 24


def bad(**changes: Any) -> dict[str, Any]:
    body = dict(TEST1)
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (bad(endTime="2026-01-09T00:00:00Z"), "endTime"),
        (bad(endTime="2026-01-08T00:00:00Z"), "endTime"),
        (bad(startTime="not a time"), "startTime"),
        (bad(endTime="2026-01-10T00:00:00"), "endTime"),
        (bad(chunkSize="00:00:00"), "chunkSize"),
        (bad(chunkSize="-01:00:00"), "chunkSize"),
        (bad(chunkSize="soon"), "chunkSize"),
        (bad(pointAddresses=[]), "pointAddresses"),
        (bad(pointAddresses=["SINUSOID", "SINUSOID"]), "pointAddresses"),
        (bad(pointAddresses=[f"SIM.{i}" for i in range(6)]), "pointAddresses"),
        (bad(chunkSize="00:01:00"), "chunkSize"),
        (bad(connectorType="Historian9000"), "connectorType"),
        (bad(connectorType="PIWebApi"), "connectorType"),
        (bad(pointAddresses=["SINUSOID", "NO.SUCH.POINT"]), "pointAddresses"),
        (bad(startTime=None), "startTime"),
        (bad(pointAddresses="SINUSOID"), "pointAddresses"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_queues_nothing(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/backfill/start", json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["success"] is False
    assert payload["field"] == field and field in payload["error"]
    status = client.get("/api/backfill/status").json()["data"]
    assert status["activeRequests"] == [] and status["recentRequests"] == []


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/api/backfill/start", content=b'{"connectorType": "Simulator",',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["error"]


def test_unknown_request_is_a_404(client: TestClient) -> None:
    for path in ("/api/backfill/request/nope", "/api/backfill/request/nope/chunks"):
        response = client.get(path)
        assert response.status_code == 404 and "nope" in response.json()["error"]
    assert client.post("/api/backfill/request/nope/cancel").status_code == 404
    assert client.post("/api/backfill/request/nope/retry-failed").status_code == 404


def test_retry_failed_without_failures_is_a_400(client: TestClient) -> None:
    request_id = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
    wait_done(client, request_id)
    response = client.post(f"/api/backfill/request/{request_id}/retry-failed")
    assert response.status_code == 400 and "no failed chunks" in response.json()["error"]


def test_afsdk_without_the_sdk_is_a_400_saying_what_to_install(client: TestClient) -> None:
    response = client.post("/api/backfill/start", json=bad(connectorType="PIAfSdk"))
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "connectorType"
    assert "Windows" in body["error"] and "PI AF Client" in body["error"]
    health = client.get("/health").json()["data"]["connectors"]["PIAfSdk"]
    assert health["available"] is False and "PI AF Client" in health["reason"]


def test_health_lists_connectors_and_docs_are_served(client: TestClient) -> None:
    health = client.get("/health").json()["data"]
    assert health["connectors"]["Simulator"]["available"] is True
    assert health["connectors"]["PIWebApi"]["available"] is False
    assert health["connectors"]["PIWebApi"]["reason"]
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/backfill/start" in spec["paths"] and "/api/backfill/status" in spec["paths"]

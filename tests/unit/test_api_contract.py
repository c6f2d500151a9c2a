"""The HTTP contract under hostile input (#16 items 7, 9-12, 3's Idempotency-Key; #12's
OpenAPI): every answer is a documented status with the documented body, never a 5xx."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from naia.api.app import create_app
from naia.api.schemas import ErrorBody, Ok, QueuedRequest, RequestDetail, StatusBody
from naia.app.settings import load_settings
from naia.app.wiring import build_runtime
from tests.helpers import TEST1, wait_done

MIB = 1 << 20


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    runtime = build_runtime(load_settings(store={"path": tmp_path / "contract.duckdb"}))
    app = create_app(runtime)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    runtime.close()


def bad(**changes: Any) -> dict[str, Any]:
    """Test 1 with fields changed (None: left out)."""
    body = {**TEST1, **changes}
    return {k: v for k, v in body.items() if v is not None}


def assert_error(response: Any, status: int, field: str | None = None) -> ErrorBody:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    raw = response.json()
    assert set(raw) == {"success", "error", "field"}, raw
    body = ErrorBody.model_validate(raw)
    assert body.error
    if field is not None:
        assert body.field == field and field in body.error
    return body


def nothing_queued(client: TestClient) -> bool:
    status = StatusBody.model_validate(client.get("/api/backfill/status").json()["data"])
    return status.activeRequests == [] and status.recentRequests == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"chunkSize": "99999999999.00:00:00"}, "chunkSize"),
        ({"chunkSize": "P99999999999999999999D"}, "chunkSize"),
        ({"startTime": "0001-01-01T00:00:00+01:00"}, "startTime"),
        ({"endTime": "9999-12-31T23:00:00-01:00"}, "endTime"),
    ],
)
def test_overflowing_times_and_durations_are_a_400_naming_the_field(
    client: TestClient, changes: dict[str, str], field: str
) -> None:
    assert_error(client.post("/api/backfill/start", json=bad(**changes)), 400, field)
    assert nothing_queued(client)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-30T00:00:00Z", "9999-12-31T12:00:00Z"),  # a 2-day chunk would pass 9999
        ("0001-01-01T00:00:00Z", "0001-01-01T12:00:00Z"),  # the first year there is
    ],
)
def test_a_range_at_the_edge_of_time_runs_its_last_chunk_cut_at_end(
    client: TestClient, start: str, end: str
) -> None:
    body = bad(startTime=start, endTime=end, chunkSize="P2D", pointAddresses=["SINUSOID"])
    response = client.post("/api/backfill/start", json=body)
    queued = Ok[QueuedRequest].model_validate(response.json()).data
    assert (queued.startTime, queued.endTime) == (start, end)
    done = wait_done(client, queued.requestId)
    assert done["status"] == "Completed", done
    chunks = client.get(f"/api/backfill/request/{queued.requestId}/chunks").json()["data"]
    assert chunks["windows"][-1][1] == end


def test_points_equal_ignoring_case_are_one_point_and_a_400(client: TestClient) -> None:
    body = bad(pointAddresses=["SINUSOID", "CDT158", "sinusoid"])
    error = assert_error(client.post("/api/backfill/start", json=body), 400, "pointAddresses")
    assert "SINUSOID" in error.error and "sinusoid" in error.error
    assert nothing_queued(client)


def test_an_unknown_field_is_a_400_naming_it_with_the_right_name(client: TestClient) -> None:
    body = {**bad(chunkSize=None), "chunksize": "P30D"}
    error = assert_error(client.post("/api/backfill/start", json=body), 400, "chunksize")
    assert "'chunkSize'" in error.error  # the suggestion
    typo = {**TEST1, "pointAdresses": ["X"]}
    error = assert_error(client.post("/api/backfill/start", json=typo), 400, "pointAdresses")
    assert "'pointAddresses'" in error.error
    assert nothing_queued(client)


def test_an_empty_chunk_size_is_a_400(client: TestClient) -> None:
    assert_error(client.post("/api/backfill/start", json=bad(chunkSize="")), 400, "chunkSize")
    assert nothing_queued(client)


def test_a_body_over_the_limit_is_a_413_before_parsing(client: TestClient) -> None:
    huge = b'{"connectorType": "Simulator", "pointAddresses": [' + b'"X",' * (MIB // 4) + b'"Y"]}'
    response = client.post(
        "/api/backfill/start", content=huge, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413)

    def streamed() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b'{"connectorType": "Simulator", "pointAddresses": ['
        for _ in range(64):
            yield b'"SINUSOID",' * 2048
        yield b'"CDT158"]}'

    response = client.post(
        "/api/backfill/start", content=streamed(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413)
    assert nothing_queued(client)


def test_a_body_under_the_limit_still_works(client: TestClient) -> None:
    response = client.post("/api/backfill/start", json=TEST1)
    assert Ok[QueuedRequest].model_validate(response.json()).data.totalChunks == 24


def test_every_error_has_the_error_body(client: TestClient) -> None:
    as_json = {"Content-Type": "application/json"}
    assert_error(client.post("/api/backfill/start", content=b"{not json", headers=as_json), 400)
    assert_error(client.post("/api/backfill/start", content=b"[1, 2]"), 400)
    assert_error(client.get("/api/no/such/route"), 404)
    assert_error(client.put("/api/backfill/start", json=TEST1), 405)
    assert_error(client.get("/api/backfill/request/nope"), 404)
    assert_error(client.get("/static/nope.js"), 404)


def test_the_same_idempotency_key_and_body_answer_the_first_request(client: TestClient) -> None:
    key = {"Idempotency-Key": "nightly-2026-01-09"}
    first = client.post("/api/backfill/start", json=TEST1, headers=key)
    again = client.post("/api/backfill/start", json=TEST1, headers=key)
    assert first.status_code == again.status_code == 200
    first_id = Ok[QueuedRequest].model_validate(first.json()).data.requestId
    assert Ok[QueuedRequest].model_validate(again.json()).data.requestId == first_id
    other = client.post("/api/backfill/start", json=bad(chunkSize="02:00:00"), headers=key)
    assert_error(other, 409, "Idempotency-Key")
    unkeyed = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
    assert unkeyed != first_id
    status = StatusBody.model_validate(client.get("/api/backfill/status").json()["data"])
    assert len(status.activeRequests) + len(status.recentRequests) == 2


def test_responses_parse_as_the_typed_models(client: TestClient) -> None:
    queued = Ok[QueuedRequest].model_validate(client.post("/api/backfill/start", json=TEST1).json())
    wait_done(client, queued.data.requestId)
    detail = client.get(f"/api/backfill/request/{queued.data.requestId}").json()
    assert Ok[RequestDetail].model_validate(detail).data.pointsProcessed == 4320
    assert "storedValues" not in detail["data"]  # embedded mode: nothing about QuestDB


def test_openapi_lists_the_real_status_codes_with_the_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    codes = {
        (path, method): set(operation["responses"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert all("422" not in found for found in codes.values()), codes
    assert codes[("/api/backfill/start", "post")] == {"200", "400", "409", "413", "503"}
    assert codes[("/api/backfill/request/{requestId}", "get")] == {"200", "404", "413"}
    assert codes[("/api/backfill/request/{requestId}/cancel", "post")] == {
        "200", "404", "413", "503",
    }  # fmt: skip
    error = spec["paths"]["/api/backfill/start"]["post"]["responses"]["400"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    ok = spec["paths"]["/api/backfill/status"]["get"]["responses"]["200"]
    assert "StatusBody" in ok["content"]["application/json"]["schema"]["$ref"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]

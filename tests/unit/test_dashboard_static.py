"""The dashboard page, its static files and the throughput samples behind its chart."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from naia.api.app import create_app
from naia.api.dashboard import Series, ThroughputRecorder
from naia.app.settings import load_settings
from naia.app.wiring import build_runtime
from naia.domain.model import ConnectorType, RequestStatus
from naia.orchestrator.views import RequestView
from tests.helpers import TEST1, wait_done

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    runtime = build_runtime(load_settings(store={"path": tmp_path / "dash.duckdb"}))
    with TestClient(create_app(runtime)) as test_client:
        yield test_client
    runtime.close()


def test_the_page_is_served_at_the_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "<title>NAIA backfill</title>" in html
    for element in ("start-form", "connectorType", "pointAddresses", "startTime", "endTime",
                    "chunkSize", "requests-body", "chunk-map", "chart", "detail-cancel",
                    "detail-retry"):  # fmt: skip
        assert f'id="{element}"' in html, element
    for field in ("connectorType", "pointAddresses", "startTime", "endTime", "chunkSize"):
        assert f'id="{field}-error"' in html, f"no place for the API's error on {field}"


def test_every_asset_the_page_references_loads(client: TestClient) -> None:
    html = client.get("/").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert sorted(assets) == ["/static/dashboard.css", "/static/dashboard.js"]
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        expected = CONTENT_TYPES[path[path.rfind(".") :]]
        assert response.headers["content-type"].startswith(expected), path
        assert len(response.content) > 1000
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from the internet


def test_the_script_calls_only_our_api(client: TestClient) -> None:
    script = client.get("/static/dashboard.js").text
    assert "http://" not in script and "https://" not in script
    for path in ("/api/backfill/status", "/api/backfill/start", "/chunks", "/retry-failed",
                 "/cancel", "/api/dashboard/throughput/", "/health"):  # fmt: skip
        assert path in script, path


@pytest.mark.parametrize(
    "path", ["/static/missing.js", "/static/..%2Fapp.py", "/static/app.py", "/static/index"]
)
def test_unknown_static_files_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_throughput_of_an_unknown_request_is_404(client: TestClient) -> None:
    response = client.get("/api/dashboard/throughput/nope")
    assert response.status_code == 404 and response.json()["success"] is False


def test_throughput_endpoint_after_a_run(client: TestClient) -> None:
    request_id = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
    wait_done(client, request_id)
    data = client.get(f"/api/dashboard/throughput/{request_id}").json()["data"]
    assert data["requestId"] == request_id and data["intervalSeconds"] == 1.0
    for t, values in data["samples"]:  # a fast run may end before the first sample
        assert t > 1.7e9 and 0 <= values <= 4320


def view(status: RequestStatus, values: int, request_id: str = "r1") -> RequestView:
    start = datetime(2026, 1, 9, tzinfo=UTC)
    return RequestView(
        request_id=request_id, connector_type=ConnectorType.SIMULATOR, points=("A",),
        start=start, end=start + timedelta(days=1), chunk_size_s=3600.0, status=status,
        progress=0.0, total_chunks=24, completed_chunks=0, failed_chunks=0,
        points_processed=values, batches_published=0, queued_at=start, started_at=None,
        completed_at=None, values_per_second=None, eta_seconds=None, estimated_completion=None,
        error=None, failed_chunk_errors={}, retries=0,
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recorder_samples_running_requests_and_closes_finished_ones() -> None:
    clock = Clock()
    views = [view(RequestStatus.QUEUED, 0)]
    recorder = ThroughputRecorder(lambda: views, interval=1.0, clock=clock)
    recorder.sample()
    assert recorder.samples("r1") == ([], 1.0)  # queued: nothing yet
    for second, values in enumerate((0, 100, 250)):
        clock.now = 1001.0 + second
        views = [view(RequestStatus.RUNNING, values)]
        recorder.sample()
    clock.now = 1003.4  # finished between two ticks: its last value is kept anyway
    views = [view(RequestStatus.COMPLETED, 300)]
    recorder.sample()
    clock.now = 1010.0
    recorder.sample()
    samples, _ = recorder.samples("r1")
    assert samples == [(1001.0, 0), (1002.0, 100), (1003.0, 250), (1003.4, 300)]
    views = []
    recorder.sample()
    assert recorder.samples("r1") == ([], 1.0)  # forgotten with its request


def test_a_full_series_halves_its_resolution() -> None:
    series = Series(capacity=4, interval=1.0)
    for t in range(10):
        series.add(float(t), t * 10)
        series.add(float(t) + 0.5, -1)  # too soon: ignored
    assert len(series.samples) <= 4 and series.interval == 4.0
    times = [t for t, _ in series.samples]
    assert times[0] == 0.0 and times == sorted(times)
    assert all(v >= 0 for _, v in series.samples)


def test_recorder_survives_a_failing_source(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    third = threading.Event()

    def requests() -> list[RequestView]:
        nonlocal calls
        calls += 1
        if calls >= 3:
            third.set()
        raise RuntimeError("boom")

    recorder = ThroughputRecorder(requests, interval=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,))
    thread.start()
    try:
        assert third.wait(5), "the sampler stopped after a failure"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert "throughput sampling failed" in caplog.text


# `naia status` shows what the page shows --------------------------------------------------------
def api_request(status: str, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "requestId": f"{status.lower():0<8}-id", "status": status, "progress": 0.0,
        "completedChunks": 0, "totalChunks": 24, "failedChunks": 0, "pointsProcessed": 0,
        "valuesPerSecond": None, "etaSeconds": None, "startedAt": None, "completedAt": None,
        "connectorType": "Simulator", "pointCount": 3, "startTime": "2026-01-09T00:00:00Z",
        "endTime": "2026-01-10T00:00:00Z", "chunkSize": "01:00:00", "batchesPublished": 0,
        "queuedAt": "2026-01-09T00:00:00Z", "estimatedCompletion": None, "retries": 0,
        "error": None,
    }  # fmt: skip
    body.update(fields)
    return body


def test_status_shows_the_pages_numbers() -> None:
    from rich.console import Console

    from naia.api.schemas import StatusBody
    from naia.cli.status import render

    data = {
        "activeRequests": [
            api_request("Queued"),
            api_request(
                "Running",
                progress=45.8,
                completedChunks=11,
                failedChunks=2,
                pointsProcessed=1980,
                valuesPerSecond=546.4,
                etaSeconds=3725.0,
            ),
        ],
        "recentRequests": [
            api_request(
                "Completed",
                progress=100.0,
                completedChunks=24,
                pointsProcessed=4320,
                startedAt="2026-01-09T00:00:00Z",
                completedAt="2026-01-09T00:00:08Z",
            ),
        ],
        "stats": {
            "completedRequests": 1,
            "failedRequests": 0,
            "cancelledRequests": 0,
            "failedChunks": 2,
            "totalPointsBackfilled": 6300,
            "totalBatchesPublished": 0,
        },
        "queueDepth": 1,
    }
    console = Console(record=True, width=160)
    console.print(render(StatusBody.model_validate(data)))
    text = console.export_text()
    statuses = ("Running", "Queued", "Completed")
    lines = [line for line in text.splitlines() if set(line.split()[1:2]) & set(statuses)]
    assert [line.split()[1] for line in lines] == ["Running", "Queued", "Completed"]
    running, _, completed = lines
    assert "45.8 %" in running and "11/24 2 failed" in running and "1,980" in running
    assert "546" in running and "1:02:05" in running  # values/s and ETA as h:mm:ss
    assert "100.0 %" in completed and "540" in completed  # 4,320 values in 8 s on average
    assert "running 1  queued 1  completed 1  failed 0  failed chunks 2" in text
    assert "values 6,300  throughput 546/s" in text


def test_the_fleet_panel_is_fed_by_the_fleet_endpoint(client: TestClient) -> None:
    html = client.get("/").text
    for element in ("fleet-panel", "fleet-summary", "fleet-body", "fleet-empty"):
        assert f'id="{element}"' in html, element
    script = client.get("/static/dashboard.js").text
    assert "/fleet`" in script and "renderFleet" in script
    # without a fleet the page stops asking once it saw this 404 (the script matches its text)
    request_id = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
    response = client.get(f"/api/backfill/request/{request_id}/fleet")
    assert response.status_code == 404
    assert re.search(r"runs no fleet", response.json()["error"])
    assert "runs no fleet" in script

"""POST /api/backfill/start while Kafka is down (#16 item 3), on a private Kafka broker that the
test kills: a prompt 503 with the error body and Retry-After, and then the request never runs,
not after Kafka returns, not after the API restarts. The Idempotency-Key makes a retry safe."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naia.services.manager import ServiceManager
from naia.services.settings import ServicesSettings, default_data_dir
from tests.helpers import TEST1, api_up, free_port, naia, request_data, wait_for
from tests.integration.distributed import QDB_PORT

pytestmark = pytest.mark.services

KAFKA_PORT = 30092  # this suite's private range (30000-30999)
STATE_TIMEOUT_S = 3.0
ONE_HOUR = {**TEST1, "pointAddresses": ["SINUSOID"], "endTime": "2026-01-09T01:00:00Z"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kafka() -> Iterator[ServiceManager]:
    """A private single-node Kafka under var/, removed afterwards."""
    data = REPO / "var" / f"kafka-outage-{uuid.uuid4().hex[:8]}"
    settings = ServicesSettings(
        data_dir=data,
        kafka_port=KAFKA_PORT,
        kafka_controller_port=KAFKA_PORT + 1,
        questdb_http_port=30900,
        questdb_pg_port=30812,
        questdb_ilp_tcp_port=None,
        redis_port=30379,
        kafka_heap="256m",
    )
    installed = default_data_dir() / "kafka" / "lib"
    if installed.is_dir():  # the jars `naia services up` resolved already: no Maven run
        (data / "kafka").mkdir(parents=True)
        (data / "kafka" / "lib").symlink_to(installed)
    manager = ServiceManager(settings)
    manager.up(["kafka"])
    try:
        yield manager
    finally:
        manager.down(["kafka"])
        shutil.rmtree(data, ignore_errors=True)


def kill_kafka(manager: ServiceManager) -> None:
    [status] = manager.status(["kafka"])
    assert status.pid is not None
    os.kill(status.pid, signal.SIGKILL)
    wait_for(lambda: not manager.status(["kafka"])[0].healthy, 30, "Kafka to go away")


def env(tag: str) -> dict[str, str]:
    return {
        "NAIA_MODE": "distributed",
        "NAIA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{KAFKA_PORT}",
        "NAIA_KAFKA__REQUESTS_TOPIC": f"t{tag}.requests",
        "NAIA_KAFKA__CHECKPOINTS_TOPIC": f"t{tag}.checkpoints",
        "NAIA_KAFKA__BACKFILL_TOPIC": f"t{tag}.backfill",
        "NAIA_KAFKA__DATAPOINTS_TOPIC": f"t{tag}.datapoints",
        "NAIA_KAFKA__DLQ_TOPIC": f"t{tag}.dlq",
        "NAIA_KAFKA__TRANSACTIONAL_ID": f"t{tag}-orchestrator",
        "NAIA_KAFKA__STATE_TIMEOUT_S": str(STATE_TIMEOUT_S),
        "NAIA_QUESTDB__HTTP_PORT": str(QDB_PORT),
    }


class Api:
    def __init__(self, tmp_path: Path, tag: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = naia("api", "--port", str(port), env=env(tag), log=tmp_path / "api.log")
        wait_for(lambda: api_up(self.url), 60, "the API")

    def start(self, body: dict[str, Any], key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key}
        return httpx.post(f"{self.url}/api/backfill/start", json=body, headers=headers, timeout=90)

    def request_ids(self) -> set[str]:
        data = httpx.get(f"{self.url}/api/backfill/status", timeout=10).json()["data"]
        return {r["requestId"] for r in data["activeRequests"] + data["recentRequests"]}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def test_start_with_kafka_down_is_a_503_and_never_runs(
    kafka: ServiceManager, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    api = Api(tmp_path, tag)
    try:
        first = api.start(ONE_HOUR, "first").json()["data"]["requestId"]
        wait_for(lambda: request_data(api.url, first)["status"] == "Completed", 60, "first")

        kill_kafka(kafka)
        began = time.monotonic()
        refused = api.start(TEST1, "during-outage")
        waited = time.monotonic() - began
        assert refused.status_code == 503, refused.text
        assert refused.json() == {"success": False, "error": refused.json()["error"], "field": None}
        assert "Kafka" in refused.json()["error"]
        assert int(refused.headers["Retry-After"]) > 0
        assert waited < STATE_TIMEOUT_S + 5, f"answered after {waited:.1f} s"
        assert api.request_ids() == {first}

        kafka.up(["kafka"])
        # the producer keeps its order: once a later record is acknowledged, an earlier one
        # still queued would have been delivered before it
        later = api.start(ONE_HOUR, "after-outage")
        assert later.status_code == 200, later.text
        later_id = later.json()["data"]["requestId"]
        # the same key as the refused call: nothing stands behind it, so this is a new request
        retried = api.start(TEST1, "during-outage")
        assert retried.status_code == 200, retried.text
        retried_id = retried.json()["data"]["requestId"]
        wait_for(lambda: request_data(api.url, retried_id)["status"] == "Completed", 90, "retry")
        known = api.request_ids()
    finally:
        api.stop()
    assert known == {first, later_id, retried_id}

    again = Api(tmp_path, tag)  # loads every request record from Kafka
    try:
        assert again.request_ids() == {first, later_id, retried_id}
        twice = again.start(TEST1, "during-outage")  # the key survived the restart
        assert twice.json()["data"]["requestId"] == retried_id
    finally:
        again.stop()

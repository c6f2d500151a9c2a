"""Distributed mode on the real Kafka, QuestDB and Redis started by `naia services up`."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.compute as pc
import pytest
import redis

from naia.sources.simulator import SimulatorSource
from tests.contract.source_contract import read_table
from tests.helpers import TEST1, api_up, free_port, wait_for
from tests.integration.distributed import (
    REDIS_PORT,
    Slice,
    produce,
    read_committed,
    request,
    stop,
)

pytestmark = pytest.mark.services

SEED = ["SINUSOID", "CDT158", "SINUSOIDU"]
SEED_WHERE = "WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"


def start(url: str, body: dict[str, object]) -> str:
    response = httpx.post(f"{url}/api/backfill/start", json=body, timeout=30)
    assert response.status_code == 200, response.text
    request_id: str = response.json()["data"]["requestId"]
    return request_id


def wait_stored(s: Slice, expected: int, where: str = "", timeout: float = 180) -> None:
    try:
        wait_for(lambda: s.count(where) >= expected, timeout, f"{expected} rows in {s.table}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {s.count(where)} rows") from None
    s.wait_settled()  # everything published is ingested and applied: an excess row would show


def redis_latest(s: Slice, point: str) -> dict[str, str]:
    client = redis.Redis(port=REDIS_PORT)
    try:
        raw = client.hgetall(s.redis_prefix + point)
    finally:
        client.close()
    return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]


def test_seed_test1_lands_in_questdb_and_redis_and_rerun_keeps_one_copy(tmp_path: Path) -> None:
    s = Slice(tmp_path)
    s.drop_table()
    worker = s.start_worker()
    try:
        with s.api() as url:
            request_id = start(url, TEST1)
            wait_for(lambda: request(url, request_id)["status"] == "Completed", 90, "Completed")
            wait_stored(s, 4320, SEED_WHERE)
            assert s.count(SEED_WHERE) == 4320
            # stored* figures come from a count in QuestDB reused for 2 s
            wait_for(lambda: request(url, request_id)["storedValues"] == 4320, 10, "stored")
            detail = request(url, request_id)
            assert detail["pointsProcessed"] == 4320 and detail["storedValues"] == 4320
            assert detail["storedComplete"] is True and detail["storedProgress"] == 100.0
            expected = read_table(SimulatorSource(), SEED, datetime(2026, 1, 9, tzinfo=UTC),
                                  datetime(2026, 1, 10, tzinfo=UTC))  # fmt: skip
            for point in SEED:
                rows = expected.filter(pc.equal(expected["source_address"], point))
                last_ts = rows["ts"][-1].as_py()
                wait_for(lambda p=point: bool(redis_latest(s, p)), 30, "Redis")  # type: ignore[misc]
                latest = redis_latest(s, point)
                assert int(latest["ts"]) == int(last_ts.timestamp() * 1_000_000)
                assert float(latest["value"]) == rows["value"][-1].as_py()
            again = start(url, TEST1)
            wait_for(lambda: request(url, again)["status"] == "Completed", 90, "rerun")
            wait_for(lambda: s.published_values() == 8640, 30, "rerun published")
            s.wait_settled()
            assert s.count(SEED_WHERE) == 4320
            assert s.distinct() == 4320
    finally:
        stop(worker)


def test_kill_9_of_the_api_mid_request_then_restart(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_api_{int(time.time())}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = s.start_api(port, NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S="900")
    try:
        wait_for(lambda: api_up(url), 60, "API")
        request_id = start(url, TEST1)
        wait_for(lambda: request(url, request_id)["completedChunks"] >= 5, 60, "5 chunks")
    finally:
        stop(api, signal.SIGKILL)
    killed_at = request_id
    api = s.start_api(port)
    worker = s.start_worker()
    try:
        wait_for(lambda: api_up(url), 60, "API after restart")
        assert request(url, killed_at)["completedChunks"] >= 5  # resumed from checkpoints
        wait_for(lambda: request(url, killed_at)["status"] == "Completed", 90, "Completed")
        assert s.published_values() == 4320  # exactly once on Kafka: aborted work is invisible
        wait_stored(s, 4320)
        assert s.count() == 4320 and s.distinct() == 4320
    finally:
        stop(api)
        stop(worker)


def test_kill_9_of_the_worker_mid_ingest_then_restart(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_worker_{int(time.time())}")
    points = [f"SIM.{i}" for i in range(20)]
    body = {**TEST1, "pointAddresses": points, "endTime": "2026-01-11T00:00:00Z",
            "chunkSize": "1.00:00:00"}  # fmt: skip
    expected = 20 * 2 * 1440
    with s.api(NAIA_KAFKA__MAX_ROWS_PER_MESSAGE="144") as url:
        request_id = start(url, body)
        wait_for(lambda: request(url, request_id)["status"] == "Completed", 90, "published")
    worker = s.start_worker(NAIA_INGEST__MAX_MESSAGES="1")
    try:
        wait_for(lambda: s.count() > 0, 60, "first rows")
    finally:
        stop(worker, signal.SIGKILL)
    partial = s.count()
    assert 0 < partial < expected, "the kill must land mid-ingest"
    worker = s.start_worker()
    try:
        wait_stored(s, expected)
        assert s.count() == expected and s.distinct() == expected
    finally:
        stop(worker)


def test_live_point_lands_and_older_backfill_never_overwrites_redis(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_live_{int(time.time())}")
    worker = s.start_worker()
    live_ts = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    try:
        with s.api(NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S="300") as url:
            request_id = start(url, TEST1)
            wait_for(lambda: request(url, request_id)["completedChunks"] >= 2, 60, "running")
            live = {"sourceAddress": "SINUSOID", "timestamp": live_ts.isoformat(),
                    "value": 42.5, "good": True}  # fmt: skip
            produce(s.kafka.datapoints_topic, json.dumps(live).encode(),
                    [("content-type", b"application/json")])  # fmt: skip
            wait_for(lambda: s.count("WHERE value = 42.5") == 1, 60, "live row in QuestDB")
            assert request(url, request_id)["status"] == "Running"  # it arrived mid-backfill
            wait_for(lambda: request(url, request_id)["status"] == "Completed", 90, "Completed")
            wait_stored(s, 4321)
        latest = redis_latest(s, "SINUSOID")
        assert float(latest["value"]) == 42.5
        assert int(latest["ts"]) == int(live_ts.timestamp() * 1_000_000)
        assert redis_latest(s, "CDT158")["ts"] == str(
            int((datetime(2026, 1, 10, tzinfo=UTC) - timedelta(minutes=1)).timestamp() * 1e6)
        )
    finally:
        stop(worker)


def test_malformed_message_goes_to_the_dlq_and_ingestion_continues(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_dlq_{int(time.time())}")
    worker = s.start_worker()
    try:
        # the worker creates the topics; wait for it to be consuming
        wait_for(lambda: (tmp_path / "ingest.log").read_text().count("ingesting") > 0, 60, "worker")
        produce(s.kafka.backfill_topic, b"\xff\xff\xff\xffnot arrow at all",
                [("content-type", b"application/vnd.apache.arrow.stream")])  # fmt: skip
        produce(s.kafka.datapoints_topic, b'{"sourceAddress": "SINUSOID"}')
        good = {"sourceAddress": "CDT158", "timestamp": "2026-11-29T00:00:00Z", "value": 7.0}
        produce(s.kafka.datapoints_topic, json.dumps(good).encode())
        wait_for(lambda: s.count("WHERE value = 7.0") == 1, 60, "the good message")
        wait_for(lambda: len(read_committed(s.kafka.dlq_topic, 1)) == 2, 30, "two dead letters")
        dead = read_committed(s.kafka.dlq_topic, 1)
        errors = sorted(dict(m.headers())["naia-error"].decode() for m in dead)  # type: ignore[attr-defined]
        assert any("Arrow" in e for e in errors) and any("JSON" in e for e in errors)
        originals = {m.value() for m in dead}  # type: ignore[attr-defined]
        assert b'{"sourceAddress": "SINUSOID"}' in originals
        assert worker.poll() is None  # still running
    finally:
        stop(worker)

"""The ingestion worker and the views ride out restarts of Kafka, QuestDB and Redis (issue 16).

These tests kill, pause and restart services: they run on private instances (see
private_services.py), started once for the module and stopped at its end.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pyarrow as pa
import pytest
import redis

from naia.sources.simulator import SimulatorSettings, SimulatorSource
from tests.conftest import DAY_START, SEED_POINTS
from tests.helpers import api_up, free_port, request_data, run_naia, wait_for
from tests.integration.distributed import stop
from tests.integration.private_services import (
    PrivateServices,
    PrivateSlice,
    metric,
    private_services,
    running,
    wait_metric,
)

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServices]:
    yield from private_services(tmp_path_factory.mktemp("services"))


@pytest.fixture
def s(services: PrivateServices, tmp_path: Path) -> Iterator[PrivateSlice]:
    services.up()  # whatever the test before left down
    yield PrivateSlice(services, tmp_path)
    for name in ("kafka", "questdb", "redis"):
        services.resume(name)


@contextmanager
def worker_of(s: PrivateSlice) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A `naia ingest` on the slice's topics (created first) with its metrics port; at the end it
    is woken if frozen and stopped, whatever the test did to it."""
    s.create_topics()
    port = free_port()
    worker = s.start_worker(port)
    try:
        yield worker, port
    finally:
        worker.send_signal(signal.SIGCONT)
        stop(worker)


def hours(first: int, count: int) -> list[pa.RecordBatch]:
    """Simulator batches of the seed points for ``count`` hours from hour ``first``."""
    source = SimulatorSource(SimulatorSettings(batch_rows=60))
    start = DAY_START + timedelta(hours=first)
    return list(source.read(SEED_POINTS, start, start + timedelta(hours=count)))


def rows(batches: list[pa.RecordBatch]) -> int:
    return sum(b.num_rows for b in batches)


def wait_rows(s: PrivateSlice, expected: int, timeout: float = 120) -> None:
    wait_for(lambda: s.count() >= expected, timeout, f"{expected} rows (have {s.count()})")
    assert s.count() == expected and s.distinct() == expected


def test_worker_rides_out_a_questdb_kill_and_resumes_by_itself(s: PrivateSlice) -> None:
    with worker_of(s) as (worker, port):
        first = hours(0, 2)
        s.publish(first)
        wait_rows(s, rows(first))
        s.services.kill("questdb")
        second = hours(2, 2)
        s.publish(second)
        wait_metric(port, "naia_ingest_dependency_up", 0, 60, dependency="questdb")
        wait_for(lambda: (metric(port, "naia_ingest_retries_total", dependency="questdb") or 0)
                 >= 3, 60, "3 retries")  # fmt: skip
        assert running(worker), "the worker exited while QuestDB was down"
        s.services.up("questdb")
        wait_rows(s, rows(first) + rows(second))
        wait_metric(port, "naia_ingest_dependency_up", 1, 30, dependency="questdb")
        assert running(worker)
        assert len(s.log_lines("WARNING naia.ingest: questdb: unavailable")) == 1
        assert len(s.log_lines("questdb answers again")) == 1


def test_worker_starts_while_questdb_and_redis_are_down(s: PrivateSlice) -> None:
    s.services.kill("questdb")
    s.services.kill("redis")
    with worker_of(s) as (worker, port):
        batches = hours(0, 2)
        s.publish(batches)
        wait_metric(port, "naia_ingest_dependency_up", 0, 60, dependency="questdb")
        wait_for(lambda: (metric(port, "naia_ingest_retries_total", dependency="questdb") or 0)
                 >= 3, 60, "3 retries")  # fmt: skip
        assert running(worker), "the worker refused to start while QuestDB was down"
        s.services.up("questdb")
        wait_metric(port, "naia_ingest_dependency_up", 0, 60, dependency="redis")
        s.services.up("redis")
        wait_rows(s, rows(batches))
        wait_for(lambda: bool(s.latest("SINUSOID")), 60, "Redis latest")
        assert running(worker)


def test_worker_rides_out_a_kafka_restart_without_flooding_the_log(s: PrivateSlice) -> None:
    with worker_of(s) as (worker, port):
        first = hours(0, 2)
        s.publish(first)
        wait_rows(s, rows(first))
        s.services.kill("kafka")
        wait_metric(port, "naia_ingest_dependency_up", 0, 60, dependency="kafka")
        outage_began = time.monotonic()
        # the outage lasts until librdkafka has had ~20 s to complain
        wait_for(lambda: time.monotonic() - outage_began > 20 and running(worker), 30, "20 s")
        s.services.up("kafka")
        second = hours(2, 2)
        s.publish(second)
        wait_rows(s, rows(first) + rows(second))
        wait_metric(port, "naia_ingest_dependency_up", 1, 60, dependency="kafka")
        assert running(worker)
        refused = s.log_lines("Connection refused")
        assert 1 <= len(refused) <= 10, f"{len(refused)} 'Connection refused' lines"
        assert len(s.log_lines("WARNING naia.ingest: kafka: unavailable")) >= 1
        s.services.kill("kafka")  # a SIGTERM while Kafka is away still ends the worker
        wait_metric(port, "naia_ingest_dependency_up", 0, 60, dependency="kafka")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(28) is not None  # (SIGKILL after 30 s otherwise)


def test_a_lost_group_generation_drops_the_cycle_and_the_worker_goes_on(s: PrivateSlice) -> None:
    """The worker is frozen (SIGSTOP) mid-ingestion past its session timeout — as a broker
    restart or a long pause does — so the group forgets it while a cycle is in flight; that
    cycle's commit is refused (UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION). The worker must drop
    it, rejoin, and store everything exactly once."""
    with worker_of(s) as (worker, _):
        batches = hours(0, 24 * 20)  # 1,440 messages: ingestion lasts several seconds
        s.publish(batches)
        wait_for(lambda: s.count() > 0, 60, "ingestion under way")
        worker.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: time.monotonic() - frozen > 16, 30, "past the session timeout")
        worker.send_signal(signal.SIGCONT)
        wait_rows(s, rows(batches), timeout=180)
        assert running(worker)


def test_a_cycle_held_by_redis_past_the_session_timeout_is_dropped_and_comes_again(
    s: PrivateSlice,
) -> None:
    """The worker waits on a paused Redis, and is frozen (SIGSTOP) past its session timeout
    meanwhile: the group forgets the member, the commit of the cycle in flight is refused
    (UNKNOWN_MEMBER_ID). The worker must drop that commit, rejoin, and store everything
    exactly once."""
    with worker_of(s) as (worker, _):
        first = hours(0, 2)
        s.publish(first)
        wait_rows(s, rows(first))
        s.services.pause("redis")
        second = hours(2, 2)
        s.publish(second)
        wait_for(lambda: bool(s.log_lines("redis: unavailable")), 60, "the worker waiting")
        worker.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: time.monotonic() - frozen > 16, 30, "past the session timeout")
        worker.send_signal(signal.SIGCONT)
        s.services.resume("redis")
        third = hours(4, 2)
        s.publish(third)
        wait_rows(s, rows(first) + rows(second) + rows(third))
        wait_for(lambda: all(s.latest(p) for p in SEED_POINTS), 30, "latest values")
        assert running(worker)


def newest(batches: list[pa.RecordBatch], point: str) -> tuple[int, float]:
    """(ts in µs, value) of the newest event of ``point`` in ``batches``."""
    table = pa.Table.from_batches(batches)
    best: tuple[int, int, float] | None = None
    for name, ts, seq, value in zip(table["source_address"].to_pylist(), table["ts"].to_pylist(),
                                    table["seq"].to_pylist(), table["value"].to_pylist(),
                                    strict=True):  # fmt: skip
        if name == point:
            key = (int(ts.timestamp() * 1_000_000), int(seq), float(value))
            best = key if best is None or key[:2] > best[:2] else best
    assert best is not None
    return best[0], best[2]


def assert_latest(s: PrivateSlice, batches: list[pa.RecordBatch]) -> None:
    for point in SEED_POINTS:
        ts_us, value = newest(batches, point)
        latest = s.latest(point)
        assert int(latest["ts"]) == ts_us and float(latest["value"]) == value, (point, latest)


def test_redis_restarted_empty_gets_the_latest_values_back_without_new_data(
    s: PrivateSlice,
) -> None:
    with worker_of(s) as (worker, _):
        batches = hours(0, 3)
        s.publish(batches)
        wait_rows(s, rows(batches))
        wait_for(lambda: all(s.latest(p) for p in SEED_POINTS), 30, "latest values")
        s.services.kill("redis")
        s.services.up("redis")  # no persistence: back empty
        wait_for(lambda: all(s.latest(p) for p in SEED_POINTS), 60, "latest values rebuilt")
        assert_latest(s, batches)
        assert running(worker)
        assert len(s.log_lines("latest values rebuilt from QuestDB")) >= 1


def test_naia_latest_rebuild_restores_missing_keys_and_keeps_newer_ones(s: PrivateSlice) -> None:
    with worker_of(s):
        batches = hours(0, 2)
        s.publish(batches)
        wait_rows(s, rows(batches))
        wait_for(lambda: all(s.latest(p) for p in SEED_POINTS), 30, "latest values")
    client = redis.Redis(port=s.services.settings.redis_port)
    try:
        client.delete(*(s.redis_prefix + p for p in SEED_POINTS))
        newer = {"ts": str(4_000_000_000_000_000), "seq": "0", "value": "42.0", "state": "",
                 "good": "1"}  # fmt: skip
        client.hset(s.redis_prefix + "CDT158", mapping=newer)  # a live value newer than QuestDB
    finally:
        client.close()
    done = run_naia("latest", "rebuild", env=s.env())
    assert done.returncode == 0, done.stderr
    assert "3 point(s)" in done.stdout
    for point in ("SINUSOID", "SINUSOIDU"):
        ts_us, value = newest(batches, point)
        assert int(s.latest(point)["ts"]) == ts_us and float(s.latest(point)["value"]) == value
    assert s.latest("CDT158")["value"] == "42.0"  # compare-and-set: the newer value stays


def test_request_view_answers_promptly_while_questdb_hangs(s: PrivateSlice) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = s.start_api(port)
    try:
        wait_for(lambda: api_up(url), 90, "the API")
        body = {"connectorType": "Simulator", "pointAddresses": list(SEED_POINTS),
                "startTime": "2026-01-09T00:00:00Z", "endTime": "2026-01-09T06:00:00Z",
                "chunkSize": "01:00:00"}  # fmt: skip
        response = httpx.post(f"{url}/api/backfill/start", json=body, timeout=30)
        assert response.status_code == 200, response.text
        request_id = response.json()["data"]["requestId"]
        wait_for(lambda: request_data(url, request_id)["status"] == "Completed", 90, "done")
        s.services.pause("questdb")

        def prompt_view() -> dict[str, Any]:
            began = time.monotonic()
            got = httpx.get(f"{url}/api/backfill/request/{request_id}", timeout=30).json()["data"]
            took = time.monotonic() - began
            assert took < 5.0, f"the view took {took:.1f} s while QuestDB hangs"
            return cast(dict[str, Any], got)

        # the count cached before the pause may answer for 2 s more, then none is known
        wait_for(lambda: prompt_view()["storedValues"] is None, 30, "storedValues: null")
        for _ in range(5):
            data = prompt_view()
            assert data["storedValues"] is None and data["storedComplete"] is False
            assert "QuestDB" in data["storedReason"]
        s.services.resume("questdb")
        wait_for(lambda: request_data(url, request_id)["storedReason"] is None, 30, "count back")
    finally:
        s.services.resume("questdb")
        stop(api)

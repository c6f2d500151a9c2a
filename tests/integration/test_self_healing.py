"""The ingestion worker and the views ride out restarts of Kafka, QuestDB and Redis (issue 16).

These tests kill, pause and restart services: they run on private instances (see
private_services.py), started once for the module and stopped at its end.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from naia.sources.simulator import SimulatorSettings, SimulatorSource
from tests.conftest import DAY_START, SEED_POINTS
from tests.helpers import free_port, wait_for
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
    s.create_topics()
    port = free_port()
    worker = s.start_worker(port)
    try:
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
        assert len(s.log_lines("WARNING naia.ingest: questdb unavailable")) == 1
        assert len(s.log_lines("questdb recovered")) == 1
    finally:
        stop(worker)


def test_worker_starts_while_questdb_and_redis_are_down(s: PrivateSlice) -> None:
    s.create_topics()
    s.services.kill("questdb")
    s.services.kill("redis")
    port = free_port()
    worker = s.start_worker(port)
    try:
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
    finally:
        stop(worker)


def test_worker_rides_out_a_kafka_restart_without_flooding_the_log(s: PrivateSlice) -> None:
    s.create_topics()
    port = free_port()
    worker = s.start_worker(port)
    try:
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
        assert len(s.log_lines("WARNING naia.ingest: kafka unavailable")) >= 1
    finally:
        stop(worker)


def test_a_lost_group_generation_drops_the_cycle_and_the_worker_goes_on(s: PrivateSlice) -> None:
    """The worker is frozen (SIGSTOP) past its session timeout while a cycle waits on a
    paused QuestDB: the group forgets it, the commit of that cycle is refused; the worker must
    rejoin and store everything exactly once."""
    s.create_topics()
    port = free_port()
    worker = s.start_worker(port)
    try:
        first = hours(0, 2)
        s.publish(first)
        wait_rows(s, rows(first))
        s.services.pause("questdb")
        second = hours(2, 2)
        s.publish(second)
        wait_for(lambda: bool(s.log_lines("questdb unavailable")), 90, "the worker waiting")
        worker.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: time.monotonic() - frozen > 16, 30, "past the session timeout")
        worker.send_signal(signal.SIGCONT)
        s.services.resume("questdb")
        third = hours(4, 2)
        s.publish(third)
        wait_rows(s, rows(first) + rows(second) + rows(third))
        assert running(worker)
    finally:
        worker.send_signal(signal.SIGCONT)
        stop(worker)

"""Prometheus metrics (/metrics, the ingest worker's) and structured logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from naia.api.app import create_app
from naia.app.logs import JsonFormatter, QuietPolls, uvicorn_log_config
from naia.app.metrics import BackfillMetrics, IngestMetrics, LagCollector, serve_metrics
from naia.app.settings import load_settings
from naia.app.wiring import Runtime, build_runtime
from naia.domain.model import BackfillSpec, ConnectorType, RequestStatus
from naia.domain.ports import InboxMessage
from naia.ingestion import IngestionWorker
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.sources.simulator import SimulatorSource
from naia.transports.kafka.codec import ARROW_CONTENT_TYPE, encode_batch
from naia.transports.kafka.lag import KafkaLagProbe
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.doubles.inbox import DecodingInbox
from tests.doubles.memory_store import MemoryStore
from tests.doubles.sources import FlakySource, Provider
from tests.helpers import TEST1, free_port, wait_done

HOUR = timedelta(hours=1)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """Metric family types, and every sample by (name, sorted labels)."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(store={"path": tmp_path / "metrics.duckdb"})
    rt = build_runtime(settings)
    yield rt
    rt.close()


def test_metrics_after_the_seed_backfill(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        request_id = client.post("/api/backfill/start", json=TEST1).json()["data"]["requestId"]
        assert wait_done(client, request_id)["status"] == "Completed"
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    types, samples = parse(response.text)
    assert types["naia_values_written"] == "counter"
    assert types["naia_chunk_duration_seconds"] == "histogram"
    assert types["naia_pi_request_duration_seconds"] == "histogram"
    assert types["naia_queue_depth"] == "gauge" and types["naia_requests"] == "gauge"
    assert value(samples, "naia_values_read_total") == 4320
    assert value(samples, "naia_values_written_total") == 4320
    assert value(samples, "naia_batches_written_total") == 24
    assert value(samples, "naia_chunks_completed_total") == 24
    assert value(samples, "naia_chunk_duration_seconds_count") == 24
    assert value(samples, "naia_chunk_duration_seconds_bucket", le="+Inf") == 24
    assert value(samples, "naia_chunk_duration_seconds_sum") > 0
    assert value(samples, "naia_chunks_failed_total") == 0
    assert value(samples, "naia_chunk_retries_total") == 0
    assert value(samples, "naia_queue_depth") == 0
    assert value(samples, "naia_failed_chunks") == 0
    assert value(samples, "naia_requests", status="Completed") == 1
    for status in ("Queued", "Running", "Failed", "Cancelled"):
        assert value(samples, "naia_requests", status=status) == 0
    assert value(samples, "naia_process_resident_memory_bytes") > 0


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    first = build_runtime(load_settings(store={"path": tmp_path / "a.duckdb"}))
    second = build_runtime(load_settings(store={"path": tmp_path / "b.duckdb"}))
    try:
        assert first.metrics.registry is not second.metrics.registry
        first.metrics.on_values_read(7)
        _, a = parse(TestClient(create_app(first, start_worker=False)).get("/metrics").text)
        _, b = parse(TestClient(create_app(second, start_worker=False)).get("/metrics").text)
        assert value(a, "naia_values_read_total") == 7
        assert value(b, "naia_values_read_total") == 0
    finally:
        first.close()
        second.close()


def scrape(metrics: BackfillMetrics | IngestMetrics) -> Samples:
    from prometheus_client import generate_latest

    return parse(generate_latest(metrics.registry).decode())[1]


def test_retries_failures_and_queue_depth_are_observed() -> None:
    flaky = FlakySource(
        SimulatorSource(), transient={DAY_START + 2 * HOUR: 2}, broken={DAY_START + 5 * HOUR}
    )
    metrics = BackfillMetrics()
    store = MemoryStore()
    config = OrchestratorConfig(retry=RetryPolicy(max_attempts=3, base_delay_s=0.001))
    orch = Orchestrator(
        Provider(flaky), store, store, config, sleep=lambda _: None, observer=metrics
    )
    metrics.watch(orch.requests)
    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)
    request_id = orch.submit(spec).request_id
    orch.submit(spec)
    queued = scrape(metrics)
    assert value(queued, "naia_queue_depth") == 2
    assert value(queued, "naia_request_progress_percent", request_id=request_id) == 0
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.FAILED
    done = scrape(metrics)
    assert value(done, "naia_chunk_retries_total") == 2  # the flaky window, first request only
    assert value(done, "naia_chunks_failed_total") == 2  # the broken window, once per request
    assert value(done, "naia_failed_chunks") == 2
    assert value(done, "naia_chunks_completed_total") == 46
    assert value(done, "naia_values_written_total") == 46 * 180
    assert value(done, "naia_requests", status="Failed") == 2
    assert value(done, "naia_queue_depth") == 0
    assert ("naia_request_progress_percent", (("request_id", request_id),)) not in done


def test_pi_request_hook() -> None:
    metrics = BackfillMetrics()
    observe = metrics.pi_request_observer("PIWebApi")
    observe(0.02)
    metrics.observe_pi_request("PIWebApi", 0.2)
    samples = scrape(metrics)
    assert value(samples, "naia_pi_request_duration_seconds_count", connector="PIWebApi") == 2
    assert value(
        samples, "naia_pi_request_duration_seconds_bucket", connector="PIWebApi", le="0.025"
    ) == 1  # fmt: skip


def test_stored_values_of_active_requests(runtime: Runtime) -> None:
    metrics = BackfillMetrics()
    calls: list[tuple[str, ...]] = []

    def stored(points: tuple[str, ...], *_: Any) -> int:
        calls.append(points)
        return 99

    metrics.watch(runtime.orchestrator.requests, stored)
    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)
    request_id = runtime.orchestrator.submit(spec).request_id
    assert value(scrape(metrics), "naia_request_values_stored", request_id=request_id) == 99
    assert calls == [SEED_POINTS]


# Ingestion worker ------------------------------------------------------------------------------
class ListInbox(DecodingInbox):
    def __init__(self, messages: list[InboxMessage]) -> None:
        self.messages = messages
        self.commits = 0
        self.dead: list[str] = []

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]:
        taken, self.messages = self.messages[:max_messages], self.messages[max_messages:]
        return taken

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        self.commits += 1

    def dead_letter(self, message: InboxMessage, reason: str) -> None:
        self.dead.append(reason)

    def close(self) -> None:
        pass


class ListSink:
    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def prepare(self) -> Callable[[], None]:
        return lambda: None

    def flush(self) -> None:
        self.prepare()()

    def close(self) -> None:
        pass


def message(offset: int, value: bytes, content_type: str = ARROW_CONTENT_TYPE) -> InboxMessage:
    return InboxMessage(
        "naia.datapoints.backfill", 0, offset, None, value, {"content-type": content_type.encode()}
    )


def test_ingest_metrics_served_on_their_own_port() -> None:
    batches = list(SimulatorSource().read(SEED_POINTS, DAY_START, DAY_START + HOUR))
    payloads = [message(i, encode_batch(b)) for i, b in enumerate(batches)]
    inbox = ListInbox([*payloads, message(99, b"{not json", "application/json")])
    metrics = IngestMetrics()
    metrics.watch_lag(lambda: {("naia.datapoints.backfill", 0): 5, ("naia.datapoints", 1): 0})
    worker = IngestionWorker(inbox, [ListSink()], max_messages=100, observer=metrics)
    assert worker.step() == len(payloads) + 1
    worker.drain()
    port = free_port()
    server, thread = serve_metrics(metrics.registry, port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    _, samples = parse(text)
    assert value(samples, "naia_ingest_values_total") == 180 == worker.stats.values
    assert value(samples, "naia_ingest_messages_total") == len(payloads) + 1
    assert value(samples, "naia_ingest_commits_total") == 1
    assert value(samples, "naia_ingest_dead_letters_total") == 1 == len(inbox.dead)
    lag = "naia_ingest_consumer_lag"
    assert value(samples, lag, topic="naia.datapoints.backfill", partition="0") == 5
    assert value(samples, lag, topic="naia.datapoints", partition="1") == 0


def test_a_failing_lag_probe_does_not_fail_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    metrics = IngestMetrics()

    def broken() -> dict[tuple[str, int], int]:
        raise RuntimeError("broker down")

    metrics.watch_lag(broken)
    samples = scrape(metrics)
    assert not any(name == "naia_ingest_consumer_lag" for name, _ in samples)
    assert "broker down" in caplog.text


def test_after_a_failed_lag_probe_scrapes_answer_without_asking_kafka() -> None:
    now = [0.0]
    calls: list[float] = []

    def probe() -> dict[tuple[str, int], int]:
        calls.append(now[0])
        if now[0] < 40:
            raise RuntimeError("broker down")
        return {("naia.datapoints", 0): 3}

    collector = LagCollector(probe, hold_off_s=30.0, clock=lambda: now[0])
    for t in (0.0, 10.0, 29.0):  # one slow failure, then no probe for 30 s
        now[0] = t
        assert not next(iter(collector.collect())).samples
    now[0] = 31.0
    list(collector.collect())
    now[0] = 62.0
    assert [s.value for s in next(iter(collector.collect())).samples] == [3]
    assert calls == [0.0, 31.0, 62.0]


def test_the_worker_reports_each_dependency_up_and_its_retries() -> None:
    metrics = IngestMetrics()
    metrics.on_dependency("questdb", False)
    metrics.on_retry("questdb")
    metrics.on_retry("questdb")
    samples = scrape(metrics)
    assert value(samples, "naia_ingest_dependency_up", dependency="questdb") == 0
    assert value(samples, "naia_ingest_dependency_up", dependency="kafka") == 1
    assert value(samples, "naia_ingest_retries_total", dependency="questdb") == 2
    assert value(samples, "naia_ingest_retries_total", dependency="redis") == 0


class FakeTp:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


class FakeConsumer:
    def get_watermark_offsets(self, tp: FakeTp, timeout: float) -> tuple[int, int]:
        return (10, 50)


def test_lag_is_high_watermark_minus_committed() -> None:
    probe = object.__new__(KafkaLagProbe)
    probe._consumer = FakeConsumer()  # type: ignore[assignment]
    probe._timeout = 1.0
    assert probe._lag(FakeTp("t", 0, 42)) == 8  # type: ignore[arg-type]
    assert probe._lag(FakeTp("t", 0, -1001)) == 40  # type: ignore[arg-type]  # nothing committed


# Logs -----------------------------------------------------------------------------------------
def record(name: str, msg: str, args: tuple[Any, ...], **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


ACCESS = '%s - "%s %s HTTP/%s" %d'


def test_json_lines_carry_extra_fields_and_access_fields() -> None:
    fmt = JsonFormatter()
    chunk = json.loads(
        fmt.format(record("naia.orchestrator", "chunk %d", (3,), request_id="r1", chunk=3))
    )
    assert chunk["message"] == "chunk 3" and chunk["request_id"] == "r1" and chunk["chunk"] == 3
    assert chunk["level"] == "INFO" and chunk["logger"] == "naia.orchestrator"
    args = ("127.0.0.1:5000", "POST", "/api/backfill/start", "1.1", 200)
    access = json.loads(fmt.format(record("uvicorn.access", ACCESS, args, color_message="x")))
    assert access["method"] == "POST" and access["path"] == "/api/backfill/start"
    assert access["status"] == 200 and access["client"] == "127.0.0.1:5000"
    assert "color_message" not in access


def test_successful_polls_stay_out_of_the_access_log() -> None:
    quiet = QuietPolls()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:

        def kept(method: str, path: str, status: int) -> bool:
            return quiet.filter(
                record("uvicorn.access", ACCESS, ("c", method, path, "1.1", status))
            )

        assert not kept("GET", "/api/backfill/status", 200)
        assert not kept("GET", "/metrics", 200)
        assert kept("GET", "/api/backfill/status", 500)
        assert kept("POST", "/api/backfill/start", 200)
        assert kept("GET", "/", 200)
        root.setLevel(logging.DEBUG)
        assert kept("GET", "/api/backfill/status", 200)
    finally:
        root.setLevel(level)


def test_uvicorn_logs_go_through_our_handler_when_json_is_on() -> None:
    assert uvicorn_log_config(True) is None
    config = uvicorn_log_config(False)
    assert config is not None and "uvicorn.access" in config["loggers"]


def test_chunk_logs_carry_request_id_and_chunk(caplog: pytest.LogCaptureFixture) -> None:
    flaky = FlakySource(SimulatorSource(), transient={DAY_START: 1})
    store = MemoryStore()
    config = OrchestratorConfig(retry=RetryPolicy(max_attempts=3, base_delay_s=0.001))
    orch = Orchestrator(Provider(flaky), store, store, config, sleep=lambda _: None)
    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_START + HOUR, HOUR)
    with caplog.at_level(logging.WARNING, logger="naia.orchestrator"):
        request_id = orch.submit(spec).request_id
        orch.run_pending()
    retry = next(r for r in caplog.records if "retrying" in r.getMessage())
    assert (retry.__dict__["request_id"], retry.__dict__["chunk"]) == (request_id, 0)

import logging
import threading
import time
from datetime import timedelta

import pyarrow.compute as pc
import pytest

from naia.domain.errors import ConnectorUnavailableError, InvalidRequestError, NotFoundError
from naia.domain.model import BackfillSpec, ConnectorType, RequestStatus
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import read_table
from tests.doubles.memory_store import MemoryStore
from tests.doubles.sources import FlakySource, Provider

HOUR = timedelta(hours=1)


def spec(points: tuple[str, ...] = SEED_POINTS, chunk: timedelta = HOUR) -> BackfillSpec:
    return BackfillSpec(ConnectorType.SIMULATOR, points, DAY_START, DAY_END, chunk)


def make(source: FlakySource | None = None, store: MemoryStore | None = None) -> Orchestrator:
    config = OrchestratorConfig(retry=RetryPolicy(max_attempts=3, base_delay_s=0.001))
    return Orchestrator(
        Provider(source), store or MemoryStore(), store or MemoryStore(), config,
        sleep=lambda _: None,
    )  # fmt: skip


def run(orch: Orchestrator, s: BackfillSpec) -> str:
    request_id = orch.submit(s).request_id
    orch.run_pending()
    return request_id


def test_completes_with_exactly_the_source_data() -> None:
    store = MemoryStore()
    orch = Orchestrator(Provider(), store, store)
    view = orch.get(run(orch, spec()))
    assert view.status is RequestStatus.COMPLETED
    assert (view.progress, view.total_chunks, view.completed_chunks) == (100.0, 24, 24)
    assert view.points_processed == 4320 and view.batches_published == 24
    assert view.started_at is not None and view.completed_at is not None
    expected = read_table(SimulatorSource(), SEED_POINTS, DAY_START, DAY_END)
    actual = (
        store.table()
        .cast(expected.schema)
        .sort_by([("source_address", "ascending"), ("ts", "ascending"), ("seq", "ascending")])
    )
    assert actual.equals(expected)  # no duplicate, no gap at any chunk boundary
    stats = orch.stats()
    assert (stats.completed_requests, stats.total_points_backfilled, stats.queue_depth) == (
        1, 4320, 0
    )  # fmt: skip


def test_transient_errors_are_retried() -> None:
    flaky = FlakySource(SimulatorSource(), transient={DAY_START + 3 * HOUR: 2})
    orch = make(flaky)
    view = orch.get(run(orch, spec()))
    assert view.status is RequestStatus.COMPLETED
    assert view.retries == 2 and view.points_processed == 4320


def test_a_chunk_that_keeps_failing_is_counted_and_the_rest_goes_on() -> None:
    broken = DAY_START + 5 * HOUR
    flaky = FlakySource(SimulatorSource(), transient={DAY_START: 10}, broken={broken})
    store = MemoryStore()
    orch = make(flaky, store)
    request_id = run(orch, spec())
    view = orch.get(request_id)
    assert view.status is RequestStatus.FAILED
    assert view.failed_chunks == 2 and view.completed_chunks == 22
    assert "retry-failed" in (view.error or "")
    assert "broken" in view.failed_chunk_errors[5]
    assert orch.stats().failed_chunks == 2
    # the source recovers; retry only the failed chunks
    flaky.broken.clear()
    flaky.transient.clear()
    reads = flaky.reads
    orch.retry_failed(request_id)
    orch.run_pending()
    view = orch.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.points_processed == 4320
    assert flaky.reads - reads == 2


def test_a_failure_mid_chunk_writes_nothing_of_that_chunk() -> None:
    flaky = FlakySource(SimulatorSource(SimulatorSettings(batch_rows=500)), fail_after_batches=1)
    store = MemoryStore()
    orch = make(flaky, store)
    view = orch.get(run(orch, spec(chunk=timedelta(days=1))))
    assert view.status is RequestStatus.FAILED
    assert store.table().num_rows == 0 and store.writes == 0


def test_resume_after_a_crash_runs_only_the_missing_chunks() -> None:
    store = MemoryStore()
    first = Orchestrator(Provider(), store, store)
    request_id = first.submit(spec()).request_id
    # simulate a process that committed 10 chunks then died while Running
    source = SimulatorSource()
    entry_plan = first._entries[request_id].plan
    record = first._entries[request_id].record
    record.status = RequestStatus.RUNNING
    store.save_request(record)
    for chunk in entry_plan.chunks()[:10]:
        store.write_chunk(chunk, source.read(chunk.points, chunk.start, chunk.end))
    writes_before = store.writes
    second = Orchestrator(Provider(), store, store)
    assert second.recover() == [request_id]
    second.run_pending()
    view = second.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.points_processed == 4320
    assert store.writes - writes_before == 14
    table = store.table()
    assert table.num_rows == 4320
    keys = pc.binary_join_element_wise(
        pc.cast(table["source_address"], "string"), pc.cast(table["ts"], "string"), "|"
    )
    assert len(pc.unique(keys)) == 4320


def test_cancel_a_queued_request() -> None:
    orch = make()
    request_id = orch.submit(spec()).request_id
    assert orch.cancel(request_id).status is RequestStatus.CANCELLED
    orch.run_pending()
    assert orch.get(request_id).completed_chunks == 0
    assert orch.stats().cancelled_requests == 1


def test_bad_requests_queue_nothing() -> None:
    orch = make()
    with pytest.raises(InvalidRequestError, match="NOPE") as info:
        orch.submit(spec(points=("SINUSOID", "NOPE")))
    assert info.value.field == "pointAddresses"
    with pytest.raises(ConnectorUnavailableError):
        orch.submit(BackfillSpec(ConnectorType.PI_WEB_API, SEED_POINTS, DAY_START, DAY_END))
    with pytest.raises(NotFoundError):
        orch.get("no-such-id")
    assert orch.requests() == []


def test_eta_and_rate_while_running() -> None:
    store = MemoryStore()
    clock = iter(float(i) for i in range(10_000))
    orch = Orchestrator(Provider(), store, store, clock=lambda: next(clock))
    request_id = orch.submit(spec()).request_id
    seen = []
    original = store.write_chunk

    def spy(chunk, batches):  # type: ignore[no-untyped-def]
        result = original(chunk, batches)
        if chunk.index == 5:
            seen.append(orch.get(request_id))
        return result

    store.write_chunk = spy  # type: ignore[method-assign]
    orch.run_pending()
    running = seen[0]
    assert running.status is RequestStatus.RUNNING
    assert running.values_per_second is not None and running.values_per_second > 0
    assert running.eta_seconds is not None and running.eta_seconds > 0
    assert running.estimated_completion is not None


def test_wait_returns_the_moment_the_request_settles_not_at_its_timeout() -> None:
    """`naia backfill` waits on this: the bar ends with the request, not at the next tick."""
    orch = make()
    request_id = orch.submit(spec()).request_id
    assert orch.wait(request_id, 0.0).status is RequestStatus.QUEUED  # not settled: time is up
    worker = threading.Timer(0.2, orch.run_pending)
    worker.start()
    started = time.monotonic()
    view = orch.wait(request_id, 60.0)
    waited = time.monotonic() - started
    worker.join()
    assert view.status is RequestStatus.COMPLETED and view.completed_chunks == 24
    assert waited < 30.0, f"wait took {waited:.1f} s for a request settled after ~0.2 s"


def test_a_source_that_is_away_is_waited_for_not_counted_against_the_chunks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A PI server restarting: more failed reads than the chunk's attempts, no chunk failed."""
    store = MemoryStore()
    source = FlakySource(SimulatorSource(), down_for=10)
    orch = make(source, store)
    with caplog.at_level(logging.INFO, "naia.orchestrator"):
        view = orch.get(run(orch, spec()))
    assert view.status is RequestStatus.COMPLETED and view.failed_chunks == 0
    assert source.reads == 10 + 24
    expected = read_table(SimulatorSource(), SEED_POINTS, DAY_START, DAY_END)
    assert store.table().num_rows == expected.num_rows
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if "source" in r.getMessage()]
    assert [lvl for lvl, _ in lines] == ["WARNING", "WARNING"], lines
    assert "answers again" in lines[1][1] and "(10 failed attempt(s))" in lines[1][1]


def test_a_cancel_ends_the_wait_for_a_source_that_stays_away() -> None:
    orch = make(FlakySource(SimulatorSource(), down_for=10**9))
    request_id = orch.submit(spec()).request_id
    threading.Timer(0.3, lambda: orch.cancel(request_id)).start()
    started = time.monotonic()
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.CANCELLED
    assert time.monotonic() - started < 20

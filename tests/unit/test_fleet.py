"""Fleet fetching without Kafka: the dispatch rules, the wire format, the fetcher loop and the
FleetOrchestrator over an in-memory fleet (tests/doubles/fleet.py)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from naia.domain.fleet import DONE, FAILED, SKIPPED, Dispatch, Outcome, UnitOrder, outstanding
from naia.domain.model import (
    BackfillSpec,
    Chunk,
    ConnectorType,
    RequestRecord,
    RequestStatus,
)
from naia.domain.schema import BATCH_SCHEMA
from naia.fetcher import Fetcher, FetcherConfig
from naia.orchestrator import OrchestratorConfig, RetryPolicy
from naia.orchestrator.fleet import FleetOrchestrator
from naia.sources.simulator import SimulatorSource
from naia.transports.kafka.units import (
    decode_dispatch,
    decode_outcome,
    decode_unit,
    encode_dispatch,
    encode_outcome,
    encode_unit,
)
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import SORT_KEYS, read_table
from tests.doubles.fleet import MemoryDirectory, MemoryFeed, MemoryFleet
from tests.doubles.memory_store import MemoryStore
from tests.doubles.sources import FlakySource, Provider
from tests.helpers import wait_for

HOUR = timedelta(hours=1)
RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.001)


def spec() -> BackfillSpec:
    return BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)


def test_a_unit_is_outstanding_until_its_checkpoint_or_a_final_outcome_of_its_run() -> None:
    dispatch = Dispatch("r", "api", {0: 1, 1: 1, 2: 2, 3: 2})
    outcomes = {
        1: Outcome(1, 1, FAILED, "f"),  # failed in its run: settled
        2: Outcome(2, 1, SKIPPED, "f"),  # skipped in run 1, out again in run 2: outstanding
        3: Outcome(3, 2, DONE, "f"),  # done, but its checkpoint not read yet: outstanding
    }
    assert outstanding(dispatch, {0}, outcomes) == {2, 3}
    assert outstanding(None, set(), {}) == set()


def test_wire_format_round_trips_and_a_whole_request_is_one_range() -> None:
    unit = Chunk("r", 7, ("A", "B"), DAY_START, DAY_START + HOUR, 3, 1)
    order = UnitOrder(unit, ConnectorType.PI_WEB_API, 2)
    assert decode_unit(encode_unit(order)) == order
    dispatch = Dispatch("r", "api", {i: 1 for i in range(100_000)} | {5: 2})
    payload = encode_dispatch(dispatch, datetime.now(UTC))
    assert len(payload) < 300  # three ranges, not 100,000 entries
    assert decode_dispatch(payload) == dispatch
    outcome = Outcome(7, 2, FAILED, "f1", "SourceError: boom", 0, 1.5)
    assert decode_outcome(encode_outcome("r", outcome, datetime.now(UTC))) == ("r", outcome)


class Fleet:
    """A FleetOrchestrator on its worker thread and fetchers stepped by the test."""

    def __init__(self, source: FlakySource | None = None, fetchers: int = 2) -> None:
        self.store = MemoryStore()
        self.fleet = MemoryFleet(self.store)
        self.source = source or FlakySource(SimulatorSource())
        self.directory = MemoryDirectory()
        config = OrchestratorConfig(retry=RETRY)
        self.orch = FleetOrchestrator(Provider(self.source), self.store, self.store,
                                      self.fleet.board(), config)  # fmt: skip
        self.feeds = [self.fleet.feed(f"f{i}") for i in range(fetchers)]
        self.fetchers = [self.fetcher(feed) for feed in self.feeds]
        self.orch.start_worker()

    def fetcher(self, feed: MemoryFeed, **config: float) -> Fetcher:
        cfg = FetcherConfig(retry=RETRY, poll_timeout_s=0.01, **config)  # type: ignore[arg-type]
        return Fetcher(feed, self.directory, Provider(self.source), cfg, sleep=lambda _: None)

    def until(self, request_id: str, *statuses: RequestStatus) -> None:
        """Step the fetchers in turn until the request reaches one of ``statuses``."""

        def stepped() -> bool:
            for fetcher in self.fetchers:
                fetcher.step()
            return self.orch.get(request_id).status in statuses

        wait_for(stepped, 30, f"{request_id} to be {statuses}")

    def close(self) -> None:
        self.orch.stop()


def test_a_request_through_two_fetchers_has_exactly_the_simulators_data() -> None:
    f = Fleet()
    try:
        request_id = f.orch.submit(spec()).request_id
        f.until(request_id, RequestStatus.COMPLETED)
        view = f.orch.get(request_id)
        assert view.completed_chunks == 24 and view.points_processed == 4320
        by = Counter(fetcher for _, _, fetcher in f.fleet.published)
        assert sorted(by) == ["f0", "f1"] and sum(by.values()) == 24
        actual = f.store.table()
        actual = actual.cast(BATCH_SCHEMA.set(1, pa.field("source_address", pa.string(), False)))
        expected = read_table(SimulatorSource(), SEED_POINTS, DAY_START, DAY_END)
        assert actual.sort_by(SORT_KEYS).equals(expected)
    finally:
        f.close()


def test_a_lost_lease_gives_the_unit_back_and_a_failed_commit_is_retried() -> None:
    f = Fleet()
    try:
        f.feeds[0].lose_next = True  # a rebalance took the partition mid-unit
        f.feeds[1].commit_failures = 1  # Kafka refused one transaction
        request_id = f.orch.submit(spec()).request_id
        f.until(request_id, RequestStatus.COMPLETED)
        published = Counter((rid, i) for rid, i, _ in f.fleet.published)
        assert len(published) == 24 and set(published.values()) == {1}
        assert len(f.fleet.dispatched) == 24  # nothing dispatched twice
        assert f.orch.get(request_id).points_processed == 4320
    finally:
        f.close()


def test_a_unit_that_keeps_failing_is_recorded_and_retry_failed_dispatches_only_it() -> None:
    broken = DAY_START + 5 * HOUR
    f = Fleet(FlakySource(SimulatorSource(), broken={broken}))
    try:
        request_id = f.orch.submit(spec()).request_id
        f.until(request_id, RequestStatus.FAILED)
        view = f.orch.get(request_id)
        assert view.completed_chunks == 23 and list(view.failed_chunk_errors) == [5]
        assert "is broken" in view.failed_chunk_errors[5]
        f.source.broken.clear()  # the cause is fixed
        f.orch.retry_failed(request_id)
        f.until(request_id, RequestStatus.COMPLETED)
        assert f.fleet.dispatched[-1] == (request_id, 5, 2) and len(f.fleet.dispatched) == 25
        assert f.orch.get(request_id).points_processed == 4320
    finally:
        f.close()


def test_units_of_a_cancelled_request_are_skipped_then_retry_runs_the_rest_once() -> None:
    f = Fleet()
    try:
        request_id = f.orch.submit(spec()).request_id
        wait_for(lambda: len(f.fleet.queue) == 24, 10, "dispatch")
        for _ in range(3):
            f.fetchers[0].step()
        f.orch.cancel(request_id)
        f.directory.cancelled_ids.add(request_id)  # the fetchers read the cancelled record
        f.until(request_id, RequestStatus.CANCELLED)
        kinds = Counter(o.kind for o in f.fleet.outcomes[request_id].values())
        assert kinds == {DONE: 3, SKIPPED: 21}
        f.directory.cancelled_ids.clear()
        f.orch.retry_failed(request_id)
        f.until(request_id, RequestStatus.COMPLETED)
        published = Counter((rid, i) for rid, i, _ in f.fleet.published)
        assert len(published) == 24 and set(published.values()) == {1}
    finally:
        f.close()


def test_another_apis_request_is_neither_dispatched_nor_written_here() -> None:
    f = Fleet()
    try:
        request_id = f.orch.submit(spec()).request_id
        wait_for(lambda: len(f.fleet.queue) == 24, 10, "dispatch")
        saved: list[str] = []

        class Spy(MemoryStore):
            def save_request(self, record: RequestRecord) -> None:
                saved.append(record.request_id)
                f.store.save_request(record)

        spy = Spy()
        spy.load_requests = f.store.load_requests  # type: ignore[method-assign]
        spy.checkpoints = f.store.checkpoints  # type: ignore[method-assign]
        other = FleetOrchestrator(Provider(), spy, spy, f.fleet.board("api-2"),
                                  OrchestratorConfig(retry=RETRY))  # fmt: skip
        assert other.recover() == [request_id]
        other.run_pending()  # finds the request owned by api-1: returns at once
        assert len(f.fleet.dispatched) == 24 and saved == []  # neither dispatched nor written
        f.until(request_id, RequestStatus.COMPLETED)
    finally:
        f.close()


def test_each_fetcher_paces_its_share_of_the_fleet_budget() -> None:
    store = MemoryStore()
    fleet = MemoryFleet(store)
    feeds = [fleet.feed("f0"), fleet.feed("f1")]  # two members: half the budget each
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    fetcher = Fetcher(feeds[0], MemoryDirectory(), Provider(), FetcherConfig(
        fleet_rate_values_per_s=1000.0), clock=lambda: now[0], sleep=sleep)  # fmt: skip
    board = fleet.board()
    plan_units = [Chunk("r", 0, SEED_POINTS, DAY_START, DAY_START + 10 * HOUR)]
    board.dispatch("r", ConnectorType.SIMULATOR, plan_units, set())
    assert fetcher.step() and fleet.published == [("r", 0, "f0")]
    assert abs(sum(slept) - 1800 / 500.0) < 1e-6  # 1,800 values at 500 values/s


def test_a_stopping_fetcher_gives_its_unit_back() -> None:
    store = MemoryStore()
    fleet = MemoryFleet(store)
    feed = fleet.feed("f0")
    stop = threading.Event()
    stop.set()
    fetcher = Fetcher(feed, MemoryDirectory(), Provider(), FetcherConfig(poll_timeout_s=0.01))
    fleet.board().dispatch("r", ConnectorType.SIMULATOR,
                           [Chunk("r", 0, SEED_POINTS, DAY_START, DAY_END)], set())  # fmt: skip
    fetcher._stop = stop  # as run(stop) would, after SIGTERM
    assert fetcher.step()
    assert fleet.published == [] and len(fleet.queue) == 1  # back in the queue, unsettled


def test_fetcher_metrics_count_units_by_outcome_values_and_share() -> None:
    from naia.app.fleet import FetcherMetrics

    store = MemoryStore()
    fleet = MemoryFleet(store)
    feed = fleet.feed("f0")
    metrics = FetcherMetrics()
    directory = MemoryDirectory()
    fetcher = Fetcher(feed, directory, Provider(), FetcherConfig(poll_timeout_s=0.01),
                      observer=metrics)  # fmt: skip
    units = [Chunk("r", i, SEED_POINTS, DAY_START + i * HOUR, DAY_START + (i + 1) * HOUR)
             for i in range(2)]  # fmt: skip
    fleet.board().dispatch("r", ConnectorType.SIMULATOR, units, set())
    assert fetcher.step()
    directory.cancelled_ids.add("r")
    assert fetcher.step()
    sample = metrics.registry.get_sample_value
    assert sample("naia_fetch_units_total", {"outcome": "done"}) == 1
    assert sample("naia_fetch_units_total", {"outcome": "skipped"}) == 1
    assert sample("naia_fetch_values_read_total") == 180
    assert sample("naia_fetch_budget_share") == 1.0


def test_queued_requests_are_all_dispatched_and_followed_at_once() -> None:
    f = Fleet()
    try:
        first = f.orch.submit(spec()).request_id
        second = f.orch.submit(spec()).request_id
        wait_for(lambda: len(f.fleet.queue) == 48, 10, "both requests dispatched")
        assert f.orch.get(first).status is f.orch.get(second).status is RequestStatus.RUNNING
        f.until(second, RequestStatus.COMPLETED)
        f.until(first, RequestStatus.COMPLETED)
        assert f.orch.get(first).points_processed == f.orch.get(second).points_processed == 4320
    finally:
        f.close()


def test_the_fleet_view_shows_which_fetcher_published_what(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from naia.api.app import create_app
    from naia.app.settings import load_settings
    from naia.app.wiring import Runtime, SourceCatalog, build_runtime

    settings = load_settings(store={"path": tmp_path / "api.duckdb"})
    f = Fleet()
    try:
        request_id = f.orch.submit(spec()).request_id
        f.until(request_id, RequestStatus.COMPLETED)
        runtime = Runtime(settings, f.orch, SourceCatalog(settings))  # type: ignore[arg-type]
        with TestClient(create_app(runtime, start_worker=False)) as client:
            body = client.get(f"/api/backfill/request/{request_id}/fleet").json()["data"]
            assert body["owner"] == "api-1" and body["run"] == 1
            assert body["dispatchedUnits"] == 24 and body["outstandingUnits"] == 0
            assert [x["fetcher"] for x in body["fetchers"]] == ["f0", "f1"]
            assert sum(x["units"] for x in body["fetchers"]) == 24
            assert sum(x["values"] for x in body["fetchers"]) == 4320
            assert client.get("/api/backfill/request/nope/fleet").status_code == 404
    finally:
        f.close()
    embedded = build_runtime(settings)  # in-process fetching: no fleet to show
    try:
        with TestClient(create_app(embedded, start_worker=False)) as client:
            response = client.get(f"/api/backfill/request/{request_id}/fleet")
            assert response.status_code == 404 and "no fleet" in response.json()["error"]
    finally:
        embedded.close()


class GatedSource(FlakySource):
    """Holds each read until ``release`` is set; ``entered`` is set once a read waits."""

    def __init__(self) -> None:
        super().__init__(SimulatorSource())
        self.entered, self.release = threading.Event(), threading.Event()

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        self.entered.set()
        assert self.release.wait(30), "the test never released the read"
        yield from super().read(points, start, end)


def test_the_fleet_view_shows_the_unit_each_fetcher_reads_now(tmp_path: Path) -> None:
    """A fetcher announces the unit it takes (and that it is idle) outside the transactions;
    the view shows the unit while it is outstanding, never a unit settled since."""
    from fastapi.testclient import TestClient

    from naia.api.app import create_app
    from naia.app.settings import load_settings
    from naia.app.wiring import Runtime, SourceCatalog

    gate = GatedSource()
    f = Fleet(gate, fetchers=1)
    try:
        request_id = f.orch.submit(spec()).request_id
        wait_for(lambda: f.orch.fleet_view(request_id).dispatched == 24, 30, "dispatch")
        reader = threading.Thread(target=f.fetchers[0].step)
        reader.start()
        assert gate.entered.wait(30)
        [now] = f.orch.fleet_view(request_id).fetchers
        assert (now.fetcher, now.current_unit, now.units) == ("f0", 0, 0)
        assert now.since is not None
        settings = load_settings(store={"path": tmp_path / "api.duckdb"})
        runtime = Runtime(settings, f.orch, SourceCatalog(settings))  # type: ignore[arg-type]
        with TestClient(create_app(runtime, start_worker=False)) as client:
            body = client.get(f"/api/backfill/request/{request_id}/fleet").json()["data"]
        [fetcher] = body["fetchers"]
        assert fetcher["currentUnit"] == 0 and fetcher["readingSince"].endswith("Z")
        gate.release.set()
        reader.join(30)
        f.until(request_id, RequestStatus.COMPLETED)
        [after] = f.orch.fleet_view(request_id).fetchers
        assert after.current_unit is None and after.units == 24  # unit 23's announcement: settled
        assert f.fetchers[0].step() is False  # nothing left: the fetcher says it is idle
        assert f.fleet.readings["f0"].unit_index is None
        announced = [r.unit_index for r in f.fleet.announced]
        assert announced == [*range(24), None]  # once per unit taken, once going idle
    finally:
        gate.release.set()
        f.close()


def _given_back_then_done(source: FlakySource | None = None, commit_failures: int = 0) -> None:
    """One unit, one fetcher: its first read fails past the retries (RETRY: 3 attempts) for a
    reason that is not the unit's; the unit goes back to the queue, not to FAILED, and the next
    read publishes it."""
    fleet = MemoryFleet(MemoryStore())
    feed = fleet.feed("f0")
    feed.commit_failures = commit_failures
    config = FetcherConfig(retry=RETRY, poll_timeout_s=0.01)
    fetcher = Fetcher(feed, MemoryDirectory(), Provider(source), config, sleep=lambda _: None)
    unit = Chunk("r", 0, SEED_POINTS, DAY_START, DAY_START + HOUR)
    fleet.board().dispatch("r", ConnectorType.SIMULATOR, [unit], set())
    assert fetcher.step()
    assert fleet.outcomes == {} and len(fleet.queue) == 1  # not failed: back in the queue
    assert fetcher.step()
    assert fleet.published == [("r", 0, "f0")]
    assert fleet.outcomes["r"][0].kind == DONE


def test_kafka_failing_past_the_retries_gives_the_unit_back_instead_of_failing_it() -> None:
    _given_back_then_done(commit_failures=3)


def test_a_source_that_is_away_gives_the_unit_back_instead_of_failing_it() -> None:
    """A PI server restarting: the unit waits (back in the queue) and is read once it answers."""
    _given_back_then_done(FlakySource(SimulatorSource(), down_for=3))

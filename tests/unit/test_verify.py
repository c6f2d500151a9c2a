"""Verification of a backfill against the source's own counts, and its repair (embedded)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from naia.domain.errors import ConflictError, NotFoundError, SourceTransientError
from naia.domain.model import (
    BackfillSpec,
    Chunk,
    ConnectorType,
    RequestStatus,
    VerificationStatus,
    WindowGrid,
)
from naia.domain.ports import StoredCounts
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.sources.simulator import SimulatorSource
from naia.stores.duckdb import DuckDbStore
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.doubles.sources import FlakySource, Provider

HOUR = timedelta(hours=1)
CONFIG = OrchestratorConfig(retry=RetryPolicy(max_attempts=2, base_delay_s=0.001))


class Unreachable:
    """A source whose server is gone: every read fails transiently."""

    def check_points(self, points: Sequence[str]) -> None:
        return None

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        raise SourceTransientError("connection refused")

    def close(self) -> None:
        return None


def orchestrator(store: DuckDbStore, source: object | None = None) -> Orchestrator:
    provider = Provider(source)  # type: ignore[arg-type]
    return Orchestrator(provider, store, store, CONFIG, sleep=lambda _: None, counter=store)


def backfill(orch: Orchestrator, points: tuple[str, ...] = SEED_POINTS) -> str:
    spec = BackfillSpec(ConnectorType.SIMULATOR, points, DAY_START, DAY_END, HOUR)
    request_id = orch.submit(spec).request_id
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.COMPLETED
    return request_id


def count(store: DuckDbStore, source: str = "point_data") -> int:
    _, rows = store.query(f"SELECT count(*) FROM {source}")
    return int(rows[0][0])  # type: ignore[call-overload]


def damage(store: DuckDbStore) -> None:
    """Delete CDT158's rows of 03:00-04:00 (some) and double SINUSOID's rows of 10:00-11:00."""
    store.query(
        "DELETE FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'CDT158') "
        "AND ts >= '2026-01-09 03:10:00Z' AND ts < '2026-01-09 03:40:00Z'"
    )
    store.query(
        "INSERT INTO naia_values SELECT * FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'SINUSOID') "
        "AND ts >= '2026-01-09 10:00:00Z' AND ts < '2026-01-09 10:05:00Z'"
    )


def test_a_clean_backfill_verifies_with_no_mismatch(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    request_id = backfill(orch)
    result = orch.verify(request_id)
    assert result.status is VerificationStatus.VERIFIED
    assert result.mismatches == ()
    assert (result.windows_checked, result.windows_skipped) == (24 * 3, 0)
    assert result.source_events == result.stored_events == 4320
    assert orch.get(request_id).verification == result


def test_verify_names_exactly_the_damaged_windows_and_repair_mends_them(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    request_id = backfill(orch)
    damage(store)
    found = orch.verify(request_id)
    assert found.status is VerificationStatus.MISMATCHED
    got = {(m.point, m.window, m.source, m.stored, m.duplicates) for m in found.mismatches}
    assert got == {("CDT158", 3, 60, 30, 0), ("SINUSOID", 10, 60, 65, 5)}
    assert found.mismatches[0].start == DAY_START + 3 * HOUR

    repairing = orch.verify(request_id, repair=True)
    assert repairing.status is VerificationStatus.REPAIRING
    assert repairing.repaired_units == (3, 10)  # one group: chunk index = window index
    view = orch.get(request_id)
    assert view.status is RequestStatus.QUEUED and view.completed_chunks == 22  # visible
    orch.run_pending()
    view = orch.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.completed_chunks == 24
    assert view.verification is not None
    assert view.verification.status is VerificationStatus.VERIFIED
    assert view.verification.repaired_units == (3, 10)
    assert count(store) == 4320
    distinct = "(SELECT DISTINCT ts, source_address, seq FROM point_data)"
    assert count(store, distinct) == 4320


def test_a_repair_interrupted_by_a_crash_resumes_from_its_record(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDbStore(path)
    orch = orchestrator(store)
    request_id = backfill(orch)
    damage(store)
    orch.verify(request_id, repair=True)  # queued, never run: the process "dies" here
    store.close()

    store = DuckDbStore(path)
    again = orchestrator(store)
    assert again.recover() == [request_id]
    assert again.get(request_id).completed_chunks == 22  # the repair chunks are pending again
    again.run_pending()
    view = again.get(request_id)
    assert view.verification is not None
    assert view.verification.status is VerificationStatus.VERIFIED
    assert count(store) == 4320


def test_verify_through_a_thin_read_when_the_source_cannot_count(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store, FlakySource(SimulatorSource()))  # no tally_events: a thin read
    request_id = backfill(orch)
    damage(store)
    found = orch.verify(request_id)
    assert {(m.point, m.window) for m in found.mismatches} == {("CDT158", 3), ("SINUSOID", 10)}


def test_unknown_request_is_not_found_and_an_active_one_is_a_conflict(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    with pytest.raises(NotFoundError):
        orch.verify("nope")
    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)
    queued = orch.submit(spec).request_id
    with pytest.raises(ConflictError, match="Queued"):
        orch.verify(queued)


def test_an_unreachable_source_fails_the_verification_and_repairs_nothing(
    tmp_path: Path,
) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    request_id = backfill(orchestrator(store))
    damage(store)
    before = count(store)
    orch = orchestrator(store, Unreachable())
    orch.recover()
    result = orch.verify(request_id, repair=True)
    assert result.status is VerificationStatus.FAILED
    assert result.error is not None and "connection refused" in result.error
    assert result.mismatches == () and result.repaired_units == ()
    assert orch.get(request_id).status is RequestStatus.COMPLETED
    assert count(store) == before


def test_windows_the_live_feed_may_still_write_are_skipped(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    config = OrchestratorConfig(verify_settle=timedelta(minutes=5))
    orch = Orchestrator(Provider(), store, store, config, counter=store)
    spec = BackfillSpec(ConnectorType.SIMULATOR, ("SINUSOID",), anchor - 3 * HOUR,
                        anchor + HOUR, HOUR)  # fmt: skip
    request_id = orch.submit(spec).request_id
    orch.run_pending()
    result = orch.verify(request_id)
    assert result.status is VerificationStatus.VERIFIED
    assert (result.windows_checked, result.windows_skipped) == (3, 1)  # the open hour: skipped


def test_verify_on_complete_verifies_each_completed_request(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    config = OrchestratorConfig(verify_on_complete=True)
    orch = Orchestrator(Provider(), store, store, config, counter=store)
    request_id = backfill(orch)
    verification = orch.get(request_id).verification
    assert verification is not None and verification.status is VerificationStatus.VERIFIED


def test_store_counts_of_many_keys_fit_the_writes_memory_limit(tmp_path: Path) -> None:
    """100 points × 30 days (4.3 M rows) counted exactly per key under a 24 MB store: the limit
    is raised for the count (a hash aggregate over every key) and put back after."""
    store = DuckDbStore(tmp_path / "s.duckdb", memory_limit="24MB")
    points = tuple(f"SIM.{i}" for i in range(100))
    start = datetime(2023, 1, 1, tzinfo=UTC)
    grid = WindowGrid(start, start + timedelta(days=30), timedelta(days=10))
    chunk = Chunk("r", 0, points, grid.start, grid.end)
    store.write_chunk(chunk, SimulatorSource().read(points, grid.start, grid.end))
    counted = store.exact_counts(grid, [(p, w) for p in points for w in range(3)])
    assert counted.rows == {(p, w): 14_400 for p in points for w in range(3)}
    assert counted.duplicates == {}
    _, [(limit,)] = store.query("SELECT current_setting('memory_limit')")
    assert str(limit).startswith("22.")  # 24 MB as DuckDB reports it (MiB)


def test_a_verification_survives_in_the_request_record() -> None:
    from naia.domain.model import Mismatch, RequestRecord, Verification
    from naia.domain.records import record_from_json, record_to_json

    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)
    found = Verification(
        VerificationStatus.REPAIRING, DAY_END, 72, 3, 4320, 4290,
        (Mismatch("CDT158", 3, DAY_START + 3 * HOUR, DAY_START + 4 * HOUR, 60, 30, 0),),
        None, True, (3,), 0.25,
    )  # fmt: skip
    record = RequestRecord("r", spec, RequestStatus.QUEUED, DAY_END, verification=found,
                           repair_units={3})  # fmt: skip
    again = record_from_json(record_to_json(record))
    assert again.verification == found and again.repair_units == {3}
    old = record_to_json(RequestRecord("r", spec, RequestStatus.COMPLETED, DAY_END))
    assert record_from_json(old).verification is None


def test_repair_runs_a_chunk_that_had_failed_too(tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    broken = DAY_START + 5 * HOUR
    flaky = FlakySource(SimulatorSource(), broken={broken})
    orch = orchestrator(store, flaky)
    spec = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)
    request_id = orch.submit(spec).request_id
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.FAILED
    flaky.broken.clear()  # the source recovers: the missing window is found and repaired
    found = orch.verify(request_id, repair=True)
    assert found.repaired_units == (5,)
    orch.run_pending()
    view = orch.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.failed_chunks == 0
    assert view.verification is not None
    assert view.verification.status is VerificationStatus.VERIFIED


def test_a_lost_row_and_a_doubled_row_in_one_window_are_reported_exactly(tmp_path: Path) -> None:
    """Counts alone cancel out (60 = 60); the key fingerprint sees it, the exact second tier
    reports the doubled row."""
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    request_id = backfill(orch)
    store.query(
        "DELETE FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'SINUSOID') "
        "AND ts = '2026-01-09 06:10:00Z'"
    )
    store.query(
        "INSERT INTO naia_values SELECT * FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'SINUSOID') "
        "AND ts = '2026-01-09 06:40:00Z'"
    )
    found = orch.verify(request_id)
    got = {(m.point, m.window, m.source, m.stored, m.duplicates) for m in found.mismatches}
    assert got == {("SINUSOID", 6, 60, 60, 1)}


def test_a_row_moved_to_another_key_is_reported_though_counts_agree(tmp_path: Path) -> None:
    """A lost row and a row the source does not hold (same count, no repeated key): only the
    key fingerprint sees that the window's rows are not the source's."""
    store = DuckDbStore(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    request_id = backfill(orch)
    store.query(
        "UPDATE naia_values SET ts = ts + INTERVAL 1 SECOND WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'CDT158') "
        "AND ts = '2026-01-09 12:30:00Z'"
    )
    found = orch.verify(request_id)
    got = {(m.point, m.window, m.source, m.stored, m.duplicates) for m in found.mismatches}
    assert got == {("CDT158", 12, 60, 60, 0)}
    orch.verify(request_id, repair=True)
    orch.run_pending()
    view = orch.get(request_id).verification
    assert view is not None and view.status is VerificationStatus.VERIFIED


class CountingStore(DuckDbStore):
    """The real store, noting which pairs were counted exactly (key aggregate)."""

    exact: list[tuple[str, int]]
    calls: list[set[int]]

    def exact_counts(self, grid: WindowGrid, pairs: Collection[tuple[str, int]]) -> StoredCounts:
        self.exact += list(pairs)
        self.calls.append({w for _, w in pairs})
        return super().exact_counts(grid, pairs)


def test_only_the_windows_whose_tallies_differ_are_counted_key_by_key(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "s.duckdb")
    store.exact, store.calls = [], []
    orch = orchestrator(store)
    request_id = backfill(orch)
    assert orch.verify(request_id).status is VerificationStatus.VERIFIED
    assert store.exact == []  # a clean store: one linear scan, no key aggregate
    damage(store)
    orch.verify(request_id)
    assert sorted(store.exact) == [("CDT158", 3), ("SINUSOID", 10)]
    assert store.calls == [{3}, {10}]  # one window per exact count: it reads just those rows


class OutOfMemoryOnce(DuckDbStore):
    """The real store whose first exact count runs out of memory (as DuckDB does past ~15 M
    keys with the points picked first, on one thread in 64 MB)."""

    failed = False

    def _tally_query(
        self, sql: str, params: list[object], *, one_thread: bool = False
    ) -> list[tuple[Any, ...]]:
        if one_thread and not self.failed:
            self.failed = True
            raise duckdb.OutOfMemoryException("failed to allocate data of size 16.0 MiB")
        return super()._tally_query(sql, params, one_thread=one_thread)


def test_an_exact_count_out_of_memory_counts_again_picking_the_points_after(
    tmp_path: Path,
) -> None:
    store = OutOfMemoryOnce(tmp_path / "s.duckdb")
    orch = orchestrator(store)
    request_id = backfill(orch)
    damage(store)
    found = orch.verify(request_id)
    assert store.failed
    got = {(m.point, m.window, m.source, m.stored, m.duplicates) for m in found.mismatches}
    assert got == {("CDT158", 3, 60, 30, 0), ("SINUSOID", 10, 60, 65, 5)}

"""PiWebApiSource over the fake PI Web API equals the Simulator; paging, windows and lookups."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from threading import Event
from typing import Any

import msgspec
import pyarrow as pa
import pytest

from naia.domain.errors import SourceError, UnknownPointError
from naia.domain.schema import BATCH_SCHEMA
from naia.domain.timeparse import to_us
from naia.kernel.bucket import TokenBucket
from naia.orchestrator.throttle import guarded
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource
from naia.sources.piwebapi.settings import DEFAULT_PAGE_SIZE
from naia.sources.simulator import PointOptions, SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import assert_same_as_simulator, read_table
from tests.doubles.piwebapi_fake import (
    ARCHIVE,
    BASE_URL,
    FakePiWebApi,
    Series,
    static_data,
)

MIXED_POINTS = ("SINUSOID", "CDT158", "CDM158", "BA:PHASE.1", "BA:ACTIVE.1", "SIM.7", "sim.12")
T0 = DAY_START
US = 1_000_000


def make_source(fake: FakePiWebApi, sleeps: list[float] | None = None, **kw: Any) -> PiWebApiSource:
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, **kw)
    sink = sleeps if sleeps is not None else []
    return PiWebApiSource(settings, fake.transport(), sleep=sink.append, rng=random.Random(7))


@pytest.fixture
def realistic() -> SimulatorSettings:
    dense = REALISTIC.model_copy(update={"interval_seconds": 20.0, "same_timestamp_rate": 0.05})
    return SimulatorSettings(defaults=REALISTIC, points={"CDT158": dense, "BA:PHASE.1": dense})


def test_seed_day_is_exactly_4320_values() -> None:
    sim = SimulatorSettings()
    fake = FakePiWebApi.of_simulator(sim)
    with make_source(fake) as source:
        table = assert_same_as_simulator(source, sim, SEED_POINTS, DAY_START, DAY_END)
    assert table.num_rows == 4320


@pytest.mark.parametrize(
    ("page_size", "per_request", "concurrency", "mode"),
    [(10_000, 10, 1, "lookup"), (97, 2, 1, "path"), (50, 3, 3, "lookup"), (1000, 1, 4, "path")],
)
def test_same_as_simulator_realistic(
    realistic: SimulatorSettings, page_size: int, per_request: int, concurrency: int, mode: str
) -> None:
    fake = FakePiWebApi.of_simulator(realistic)
    source = make_source(
        fake,
        page_size=page_size,
        points_per_request=per_request,
        max_concurrency=concurrency,
        webid_mode=mode,
    )
    with source:
        table = assert_same_as_simulator(
            source, realistic, MIXED_POINTS, T0, T0 + timedelta(hours=7)
        )
    assert table.column("seq").to_pylist().count(1) > 0  # same-timestamp events came through
    assert table.column("state").null_count < table.num_rows  # states came through
    assert False in table.column("good").to_pylist()  # system states came through


def test_streams_that_diverge_continue_in_one_batch_per_round() -> None:
    sim = SimulatorSettings(
        defaults=REALISTIC, points={"SINUSOID": PointOptions(interval_seconds=7.0)}
    )
    fake = FakePiWebApi.of_simulator(sim)
    with make_source(fake, page_size=100, points_per_request=3) as source:
        points = ("SINUSOID", "CDT158", "CDM158")
        assert_same_as_simulator(source, sim, points, T0, T0 + timedelta(hours=6))
    posts = [r for r in fake.requests if r.method == "POST"]
    assert posts  # streams at their own times: one POST /batch carries them all
    assert all(r.url.path == "/piwebapi/batch" and r.headers["X-Requested-With"] for r in posts)
    assert all(len(msgspec.json.decode(r.content)) >= 2 for r in posts)
    # a stream left alone continues with a one-stream streamset
    assert len(fake.paths("/piwebapi/streamsets/recorded")) > 1


def _run(ts_us: list[int]) -> FakePiWebApi:
    values = [float(i) for i in range(len(ts_us))]
    return FakePiWebApi(static_data({"RUNS": Series.numbers(ts_us, values)}))


def _read(source: PiWebApiSource, start: datetime, end: datetime) -> pa.Table:
    return read_table(source, ["RUNS"], start, end)


@pytest.mark.parametrize("page_size", [4, 5, 6, 7, 8, 9, 10, 11, 100])
def test_same_timestamp_runs_straddling_page_boundaries(page_size: int) -> None:
    t = to_us(T0)
    s2, s3, s4 = t + 2 * US, t + 3 * US, t + 4 * US
    stamps = [t, t + 1, t + 1, t + 1, s2, s2, s3, s3, s3, s4]
    fake = _run(stamps)
    with make_source(fake, page_size=page_size) as source:
        table = _read(source, T0, T0 + timedelta(minutes=1))
    assert table.column("value").to_pylist() == [float(i) for i in range(10)]
    assert table.column("seq").to_pylist() == [0, 0, 1, 2, 0, 1, 0, 1, 2, 0]
    assert [to_us(x) for x in table.column("ts").to_pylist()] == stamps
    if page_size < 10:
        assert len(fake.paths("/piwebapi/streamsets")) > 1


def test_more_events_at_one_timestamp_than_a_page_is_a_clear_error() -> None:
    t = to_us(T0)
    fake = _run([t + 5] * 6)
    with make_source(fake, page_size=3) as source, pytest.raises(SourceError, match="page_size"):
        _read(source, T0, T0 + timedelta(minutes=1))


def test_half_open_window_drops_values_at_end_keeps_values_at_start() -> None:
    sim = SimulatorSettings()  # one value a minute on the minute
    fake = FakePiWebApi.of_simulator(sim)
    with make_source(fake, page_size=7) as source:
        hour = read_table(source, ["SINUSOID"], T0, T0 + timedelta(hours=1))
        halves = [
            read_table(source, ["SINUSOID"], T0, T0 + timedelta(minutes=30)),
            read_table(source, ["SINUSOID"], T0 + timedelta(minutes=30), T0 + timedelta(hours=1)),
        ]
    stamps = hour.column("ts").to_pylist()
    assert len(stamps) == 60
    assert stamps[0] == T0
    assert stamps[-1] == T0 + timedelta(minutes=59)
    assert pa.concat_tables(halves).equals(hour)


def test_window_ending_inside_a_page_stops_without_another_round_trip() -> None:
    t = to_us(T0)
    fake = _run([t + i * US for i in range(100)])
    with make_source(fake, page_size=10) as source:
        table = _read(source, T0, T0 + timedelta(seconds=9))  # page: 0 s … 9 s, both ends
    assert table.num_rows == 9
    assert len(fake.paths("/piwebapi/streamsets")) == 1  # a full page that reached the end


def test_empty_and_reversed_windows_yield_nothing() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    with make_source(fake) as source:
        assert list(source.read(["SINUSOID"], T0, T0)) == []
        assert list(source.read(["SINUSOID"], T0 + timedelta(hours=1), T0)) == []
        assert list(source.read([], T0, T0 + timedelta(hours=1))) == []
    assert fake.requests == []


def test_batches_are_in_the_batch_schema_and_bounded_by_the_page_size() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings(defaults=PointOptions(interval_seconds=1)))
    with make_source(fake, page_size=500, points_per_request=2) as source:
        batches = list(source.read(["SINUSOID", "CDT158", "CDM158"], T0, T0 + timedelta(hours=1)))
    assert all(b.schema.equals(BATCH_SCHEMA) for b in batches)
    assert max(b.num_rows for b in batches) <= 2 * 500
    assert sum(b.num_rows for b in batches) == 3 * 3600


def test_unknown_points_are_all_named_by_a_lookup() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    with make_source(fake) as source:
        with pytest.raises(UnknownPointError) as info:
            source.check_points(["SINUSOID", "NOPE.1", "CDT158", "NOPE.2"])
        assert info.value.points == ("NOPE.1", "NOPE.2")
        with pytest.raises(UnknownPointError):
            source.read(["SINUSOID", "NOPE.1"], T0, T0 + timedelta(hours=1))
        source.check_points(["sinusoid", "CDT158"])  # case-insensitive, as PI tags are
    streamsets = fake.paths("/piwebapi/streamsets")
    assert streamsets == []  # nothing read before the points were known


def test_unknown_point_in_path_mode_is_named_from_the_stream_error() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    with make_source(fake, webid_mode="path") as source, pytest.raises(UnknownPointError) as info:
        list(source.read(["SINUSOID", "NOPE.1"], T0, T0 + timedelta(hours=1)))
    assert info.value.points == ("NOPE.1",)
    assert fake.paths("/piwebapi/points") == []  # no lookup in path mode


def test_looked_up_webids_are_used_as_given_and_cached() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    with make_source(fake) as source:
        for _ in range(2):
            list(source.read(["SINUSOID", "CDT158"], T0, T0 + timedelta(hours=1)))
    assert len(fake.paths("/piwebapi/points/multiple")) == 1
    streamset = next(r for r in fake.requests if r.url.path.endswith("/streamsets/recorded"))
    assert streamset.url.params.get_list("webId") == ["F1DPx0000fake", "F1DPx0001fake"]
    assert streamset.url.params["maxCount"] == str(DEFAULT_PAGE_SIZE)
    assert "Items.Items.Value" in streamset.url.params["selectedFields"]


def test_streamset_items_are_matched_by_webid_when_the_server_reorders_them() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    fake = FakePiWebApi.of_simulator(sim, reverse_streamsets=True)
    with make_source(fake, page_size=100, points_per_request=4) as source:
        points = ("SINUSOID", "CDT158", "CDM158", "BA:ACTIVE.1")
        assert_same_as_simulator(source, sim, points, T0, T0 + timedelta(hours=2))


def test_full_paths_are_accepted_as_points() -> None:
    sim = SimulatorSettings()
    fake = FakePiWebApi.of_simulator(sim)
    with make_source(fake) as source:
        table = read_table(source, [f"\\\\{ARCHIVE}\\SINUSOID"], T0, T0 + timedelta(hours=1))
    assert table.num_rows == 60
    assert table.column("source_address")[0].as_py() == f"\\\\{ARCHIVE}\\SINUSOID"


def test_closing_the_iterator_early_stops_the_workers() -> None:
    sim = SimulatorSettings(defaults=PointOptions(interval_seconds=1))
    fake = FakePiWebApi.of_simulator(sim)
    points = [f"SIM.{i}" for i in range(12)]
    with make_source(fake, page_size=100, points_per_request=1, max_concurrency=3) as source:
        batches: Iterator[pa.RecordBatch] = source.read(points, T0, T0 + timedelta(hours=2))
        first = next(batches)
        assert first.num_rows == 100
        batches.close()  # type: ignore[attr-defined]
        requests_after_close = len(fake.requests)
        table = read_table(source, points[:2], T0, T0 + timedelta(minutes=5))
    assert table.num_rows == 2 * 300
    assert requests_after_close < 12 * 72  # far from reading everything


def test_failure_in_one_worker_reaches_the_caller() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings(), broken_webids={"CDT158": "garbage"})
    points = ["SINUSOID", "CDT158", "SIM.3", "SIM.4"]
    source = make_source(fake, points_per_request=1, max_concurrency=3)
    with source, pytest.raises(SourceError, match="Unknown or invalid WebID format: 'garbage'"):
        list(source.read(points, T0, DAY_END))


def test_the_orchestrators_throttle_holds_the_reads_back() -> None:
    """One values/s setting for every connector: the orchestrator paces batches
    (``guarded`` + the kernel's token bucket) and the connector's bounded pump keeps its
    threads from reading ahead of it — so pacing the batches paces the HTTP requests."""
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    points = [f"SIM.{i}" for i in range(8)]
    taken = [0]
    ahead: list[int] = []  # pages fetched but not yet taken, whenever the throttle sleeps

    def sleep(seconds: float) -> None:
        time.sleep(0.05)  # let the connector's threads run ahead if they can
        ahead.append(len(fake.paths("/piwebapi/streamsets")) - taken[0])

    def took(rows: int) -> None:
        taken[0] += 1

    bucket = TokenBucket(60.0, sleep=sleep)
    with make_source(fake, page_size=60, points_per_request=1, max_concurrency=2) as source:
        batches = guarded(source.read(points, T0, T0 + timedelta(hours=3)), bucket, Event(), took)
        rows = sum(batch.num_rows for batch in batches)
    assert rows == 8 * 180
    assert len(ahead) >= 8 * 3 - 2  # 60 values a page: in debt after (nearly) every page
    # the 2 threads hold at most a page each, the pump's queue 2 more, the throttle 1
    assert max(ahead) <= 2 + 2 + 1


def test_timestamps_are_utc() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    with make_source(fake) as source:
        table = read_table(source, ["SINUSOID"], T0, T0 + timedelta(minutes=2))
    assert table.column("ts").to_pylist() == [T0, T0 + timedelta(minutes=1)]
    assert table.column("ts").type.tz == "UTC"
    assert T0.tzinfo is UTC

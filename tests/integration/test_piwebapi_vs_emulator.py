"""PiWebApiSource against the PI Web API emulator over real HTTP equals the Simulator.

The emulator runs under uvicorn in a thread on a free loopback port. Reads page (points with more
events than the page size, page boundaries inside same-timestamp runs), carry system states, and
go through seeded fault injection (429/503 with Retry-After, slow answers, dropped connections,
truncated bodies, WebExceptions inside 200s) at 5 % of requests.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import numpy as np
import pytest

from naia.domain.errors import UnknownPointError
from naia.domain.timeparse import to_us
from naia.emulator.settings import AuthMode, EmulatorSettings, FaultSettings
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource, RetrySettings
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.conftest import DAY_END, DAY_START
from tests.contract.source_contract import assert_same_as_simulator
from tests.doubles.emulator_server import ThreadedEmulator

SERVER = "NAIA-PI"
PAGE = 200
DENSE = PointOptions(
    interval_seconds=30.0,
    irregular=True,
    same_timestamp_rate=0.3,
    system_state_rate=0.02,
    gap_rate=0.05,
)
SIM = SimulatorSettings(defaults=REALISTIC, points={"CDT158": DENSE, "BA:PHASE.1": DENSE})
POINTS = ("SINUSOID", "CDT158", "CDM158", "BA:PHASE.1", "BA:ACTIVE.1", "SIM.3")


def emulator(**kw: object) -> ThreadedEmulator:
    return ThreadedEmulator(EmulatorSettings(server_name=SERVER, simulator=SIM, **kw))  # type: ignore[arg-type]


def connector(url: str, **kw: object) -> PiWebApiSource:
    values: dict[str, object] = {
        "base_url": url,
        "data_archive": SERVER,
        "page_size": PAGE,
        "points_per_request": 3,
        "max_concurrency": 2,
        "read_timeout_s": 20,
        "retries": RetrySettings(max_attempts=8, backoff_base_s=0.05, backoff_max_s=0.5),
    }
    return PiWebApiSource(PiWebApiSettings.model_validate({**values, **kw}))


def boundaries_inside_runs(ts: np.ndarray, page: int) -> int:
    """How many page boundaries of count-based paging fall inside a same-timestamp run."""
    inside, start = 0, 0
    while start + page < len(ts):
        end = start + page  # this page holds events [start, end)
        inside += int(ts[end - 1] == ts[end])
        start = int(np.searchsorted(ts, ts[end - 1], side="left"))  # next page: from last ts
    return inside


@pytest.fixture(scope="module", params=[20260109, 7, 1234])
def faulty_url(request: pytest.FixtureRequest) -> Iterator[str]:
    seed = int(request.param)
    faults = FaultSettings(rate=0.05, seed=seed, slow_seconds=0.2, retry_after_seconds=1)
    with emulator(faults=faults) as url:
        yield url


def test_the_day_pages_through_runs_and_states() -> None:
    events = next(SimulatorSource(SIM).events("CDT158", to_us(DAY_START), to_us(DAY_END)))
    assert len(events) > 10 * PAGE  # more events than the page size, many times over
    assert boundaries_inside_runs(events.ts_us, PAGE) > 0
    assert not events.good.all()


def test_same_as_simulator_through_faults(
    faulty_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="naia.sources.piwebapi")
    with connector(faulty_url) as source:
        table = assert_same_as_simulator(source, SIM, POINTS, DAY_START, DAY_END)
    assert table.column("seq").to_pylist().count(1) > 0
    assert False in table.column("good").to_pylist()
    assert table.column("state").null_count < table.num_rows
    retried = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert retried, "5 % fault injection should have forced at least one retry"


def test_same_as_simulator_in_path_mode_one_point_a_request(faulty_url: str) -> None:
    with connector(faulty_url, webid_mode="path", points_per_request=1) as source:
        window_end = DAY_START + timedelta(hours=8)
        assert_same_as_simulator(source, SIM, POINTS, DAY_START, window_end)


def test_adjacent_windows_add_up_to_the_day(faulty_url: str) -> None:
    with connector(faulty_url) as source:
        whole = sum(b.num_rows for b in source.read(["CDT158"], DAY_START, DAY_END))
        noon = DAY_START + timedelta(hours=12)
        halves = sum(
            b.num_rows
            for a, z in ((DAY_START, noon), (noon, DAY_END))
            for b in source.read(["CDT158"], a, z)
        )
    assert whole == halves > 0


def test_unknown_points_are_named() -> None:
    with emulator() as url, connector(url) as source:
        with pytest.raises(UnknownPointError) as info:
            source.check_points(["SINUSOID", "NO.SUCH.TAG", "CDT158", "GONE"])
        assert info.value.points == ("NO.SUCH.TAG", "GONE")


def test_basic_auth_against_the_emulator() -> None:
    with (
        emulator(auth=AuthMode.BASIC, username="piuser", password="pw-123") as url,
        connector(url, auth="basic", username="piuser", password="pw-123") as source,
    ):
        window_end = DAY_START + timedelta(hours=2)
        assert_same_as_simulator(source, SIM, ("SINUSOID", "CDM158"), DAY_START, window_end)


def test_response_bodies_do_not_outlive_their_decode() -> None:
    """An httpx Response is freed only by the cyclic GC (its stream points back at it): with the
    decoder's untracked structs that GC is rare, so a body cached on it would pile up."""
    gc.collect()
    gc.disable()
    try:
        with emulator() as url, connector(url) as source:
            n = sum(b.num_rows for b in source.read(["CDT158", "SIM.3"], DAY_START, DAY_END))
            holding = [
                o
                for o in gc.get_objects()
                if isinstance(o, httpx.Response) and hasattr(o, "_content")
            ]
    finally:
        gc.enable()
    assert n > 2 * PAGE  # several pages each
    assert holding == []

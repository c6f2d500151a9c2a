"""AfSdkSource over the fake AF SDK (backed by the Simulator) equals the Simulator exactly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from naia.domain.errors import SourceError
from naia.domain.timeparse import to_us
from naia.sources.afsdk import AfSdkSettings
from naia.sources.afsdk.decode import us_to_ticks
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import assert_same_as_simulator, read_table
from tests.doubles.afsdk_fake import (
    MIXED_POINTS,
    AFBoundaryType,
    AFTime,
    AFTimeRange,
    DateTime,
    FakePISystem,
    PIPageType,
    PIPagingConfiguration,
    PIPoint,
    PIPointList,
    PIServers,
    afsdk_source,
)


def test_seed_test1_three_points_one_day_gives_4320_values() -> None:
    sim = SimulatorSettings()
    source, _ = afsdk_source(sim)
    table = assert_same_as_simulator(source, sim, SEED_POINTS, DAY_START, DAY_END)
    assert table.num_rows == 4320


@pytest.mark.parametrize(
    ("page_type", "page_size"), [("TagCount", 1), ("TagCount", 4), ("EventCount", 700)]
)
def test_realistic_data_paged_equals_simulator(page_type: str, page_size: int) -> None:
    sim = SimulatorSettings(defaults=REALISTIC, batch_rows=1_000)
    settings = AfSdkSettings.model_validate(
        {"page_type": page_type, "page_size": page_size, "batch_rows": 2_000}
    )
    source, system = afsdk_source(sim, settings)
    end = DAY_START + timedelta(days=3)
    table = assert_same_as_simulator(source, sim, MIXED_POINTS, DAY_START, end)
    assert system.stats.pages > 1  # the read really was paged
    assert pc.max(table["seq"]).as_py() >= 1  # same-timestamp events kept and numbered
    bad = table.filter(pc.invert(table["good"]))
    assert bad.num_rows > 0 and set(bad["state"].to_pylist()) <= {
        "I/O Timeout", "No Data", "Pt Created", "Shutdown", "Bad Input"
    }  # fmt: skip
    digital = table.filter(pc.equal(table["source_address"], "CDM158"))
    assert {"Manual", "Auto"} <= set(digital["state"].to_pylist())


def test_timestamps_keep_microseconds() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    source, _ = afsdk_source(sim)
    table = read_table(source, ["SINUSOID"], DAY_START, DAY_START + timedelta(hours=6))
    us = pc.cast(table["ts"], pa.int64()).to_numpy()
    assert np.any(us % 1_000 != 0)  # not truncated to milliseconds


def test_window_is_half_open_although_inside_returns_both_ends() -> None:
    sim = SimulatorSettings()
    source, system = afsdk_source(sim)
    end = DAY_START + timedelta(hours=1)
    raw = _fake_read(system, "SINUSOID", DAY_START, end)
    assert raw[0] == to_us(DAY_START) and raw[-1] == to_us(end)  # Inside: 61 values
    table = read_table(source, ["SINUSOID"], DAY_START, end)
    assert table.num_rows == 60
    assert table["ts"][0].as_py() == DAY_START
    assert table["ts"][-1].as_py() == end - timedelta(minutes=1)


def test_adjacent_windows_neither_lose_nor_double() -> None:
    sim = SimulatorSettings(defaults=REALISTIC.model_copy(update={"same_timestamp_rate": 0.2}))
    source, _ = afsdk_source(sim)
    cut = DAY_START + timedelta(hours=5, minutes=3, seconds=7, microseconds=11)
    whole = read_table(source, MIXED_POINTS, DAY_START, DAY_END)
    parts = pa.concat_tables(
        [
            read_table(source, MIXED_POINTS, DAY_START, cut),
            read_table(source, MIXED_POINTS, cut, DAY_END),
        ]
    ).sort_by([("source_address", "ascending"), ("ts", "ascending"), ("seq", "ascending")])
    assert parts.equals(whole)


def test_results_arrive_out_of_list_order() -> None:
    system = FakePISystem(SimulatorSource(), seed=3)
    end = DAY_START + timedelta(hours=1)
    names = [v.PIPoint.Name for v in _fake_results(system, MIXED_POINTS, DAY_START, end)]
    assert sorted(names) == sorted(MIXED_POINTS)
    assert names != list(MIXED_POINTS)


def test_same_timestamp_run_split_across_two_afvalues_keeps_numbering() -> None:
    sim = SimulatorSettings(defaults=REALISTIC.model_copy(update={"same_timestamp_rate": 0.3}))
    start, end = DAY_START, DAY_START + timedelta(hours=12)
    split = _split_inside_a_run(sim, "CDT158", start, end)
    source, system = afsdk_source(sim, split_results=split)
    table = assert_same_as_simulator(source, sim, ["CDT158"], start, end)
    assert system.stats.results > 1 and pc.max(table["seq"]).as_py() >= 1


def test_names_are_case_insensitive_and_kept_as_requested() -> None:
    sim = SimulatorSettings()
    source, _ = afsdk_source(sim)
    points = ["sinusoid", "Cdm158"]
    table = assert_same_as_simulator(source, sim, points, DAY_START, DAY_START + timedelta(hours=2))
    assert set(table["source_address"].to_pylist()) == set(points)


def test_points_are_read_in_groups_of_points_per_call() -> None:
    sim = SimulatorSettings()
    source, system = afsdk_source(sim, AfSdkSettings(points_per_call=2))
    assert_same_as_simulator(source, sim, MIXED_POINTS, DAY_START, DAY_START + timedelta(hours=1))
    assert system.stats.recorded_values_calls == 3
    assert system.stats.lookups == 3


def test_points_are_looked_up_once_and_connection_reused() -> None:
    sim = SimulatorSettings()
    source, system = afsdk_source(sim)
    for hour in range(3):
        start = DAY_START + timedelta(hours=hour)
        read_table(source, SEED_POINTS, start, start + timedelta(hours=1))
    assert system.stats.lookups == 1
    assert system.stats.connects == 1


def test_empty_window_reads_nothing() -> None:
    source, system = afsdk_source(SimulatorSettings())
    assert list(source.read(SEED_POINTS, DAY_START, DAY_START)) == []
    assert system.stats.recorded_values_calls == 0


def test_connects_with_timeouts_and_windows_integrated_security() -> None:
    settings = AfSdkSettings(connect_timeout_s=7, operation_timeout_s=90)
    source, system = afsdk_source(SimulatorSettings(), settings)
    source.check_points(["SINUSOID"])
    server = PIServers(system).DefaultPIServer
    assert server is not None and server.IsConnected
    info = server.ConnectionInfo
    assert getattr(info.ConnectionTimeOut, "TotalSeconds", None) == 7
    assert getattr(info.OperationTimeOut, "TotalSeconds", None) == 90
    assert system.stats.auth == [("WindowsAuthentication", None)]
    source.close()
    assert not server.IsConnected


def test_connects_as_pi_user_to_the_named_archive() -> None:
    settings = AfSdkSettings.model_validate(
        {"data_archive": "pisrv02", "auth_mode": "PIUser", "username": "piuser", "password": "pw"}
    )
    sim = SimulatorSettings()
    source, system = afsdk_source(
        sim, settings, servers=("PISRV01", "PISRV02"), pi_users={"piuser": "pw"}
    )
    assert_same_as_simulator(source, sim, ["SINUSOID"], DAY_START, DAY_START + timedelta(hours=1))
    assert system.stats.auth == [("PIUserAuthentication", "piuser")]
    assert system.servers["PISRV02"].IsConnected and not system.servers["PISRV01"].IsConnected


def test_unknown_data_archive_is_a_clear_terminal_error() -> None:
    source, _ = afsdk_source(SimulatorSettings(), AfSdkSettings(data_archive="NOSUCH"))
    with pytest.raises(SourceError, match=r"NOSUCH.*known servers"):
        source.check_points(["SINUSOID"])


# --- helpers -----------------------------------------------------------------------------------


def _fake_results(
    system: FakePISystem, names: Sequence[str], start: datetime, end: datetime
) -> list[Any]:
    server = PIServers(system).DefaultPIServer
    assert server is not None
    server.Connect()
    point_list = PIPointList()
    for point in PIPoint.FindPIPoints(server, list(names)):
        point_list.Add(point)
    time_range = AFTimeRange(
        AFTime(DateTime(us_to_ticks(to_us(start)))), AFTime(DateTime(us_to_ticks(to_us(end))))
    )
    config = PIPagingConfiguration(PIPageType.TagCount, 100)
    return list(point_list.RecordedValues(time_range, AFBoundaryType.Inside, None, False, config))


def _fake_read(system: FakePISystem, name: str, start: datetime, end: datetime) -> list[int]:
    (values,) = _fake_results(system, [name], start, end)
    _, _, times, _ = values.GetValueArrays(None, None, None)
    return [(t.Ticks - us_to_ticks(0)) // 10 for t in times]


def _split_inside_a_run(sim: SimulatorSettings, point: str, start: datetime, end: datetime) -> int:
    """A piece size for the fake's split_results that cuts a same-timestamp run in two."""
    table = read_table(SimulatorSource(sim), [point], start, end)
    seq = table["seq"].to_numpy()
    for size in range(5, 200):
        if np.any(seq[size::size] > 0):
            return size
    raise AssertionError("no same-timestamp run to split")


def test_helper_finds_a_split_inside_a_run() -> None:
    sim = SimulatorSettings(defaults=PointOptions(same_timestamp_rate=0.5))
    size = _split_inside_a_run(sim, "SINUSOID", DAY_START, DAY_END)
    seq = read_table(SimulatorSource(sim), ["SINUSOID"], DAY_START, DAY_END)["seq"].to_numpy()
    assert seq[size::size].max() > 0
    assert DAY_START.tzinfo is UTC


def test_tallies_per_window_equal_the_simulator_through_the_fake() -> None:
    from naia.domain.model import WindowGrid

    sim = SimulatorSettings(defaults=REALISTIC, batch_rows=1_000)
    settings = AfSdkSettings.model_validate({"page_size": 700, "page_type": "EventCount"})
    source, _ = afsdk_source(sim, settings)
    grid = WindowGrid(DAY_START, DAY_START + timedelta(days=2), timedelta(hours=5))
    tallied = source.tally_events(MIXED_POINTS, grid)
    assert tallied == SimulatorSource(sim).tally_events(MIXED_POINTS, grid)
    assert len({w for _, w in tallied}) == grid.count == 10

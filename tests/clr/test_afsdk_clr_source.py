"""The PIAfSdk connector, unchanged, through pythonnet on Mono against the compiled stand-in:
the cross-source contract (≡ the Simulator value for value), paging and partial results,
digital and system states, same-timestamp events, µs timestamps, and the .NET types crossing."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from naia.domain.timeparse import to_us
from naia.sources.afsdk.decode import us_to_ticks
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.clr.standin import REALISTIC as REALISTIC_SERVER
from tests.clr.standin import settings, source, standin_sdk
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import assert_same_as_simulator, read_table

pytestmark = pytest.mark.clr

MIXED_POINTS = ("SINUSOID", "CDT158", "CDM158", "BA:PHASE.1", "BA:ACTIVE.1", "SIM.7")
SYSTEM_STATES = {"I/O Timeout", "No Data", "Pt Created", "Shutdown", "Bad Input"}
DECODES = pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "per-value"])


def test_the_loader_loads_the_stand_in_on_mono_with_bulk_decode() -> None:
    sdk = standin_sdk()
    assert "NAIA stand-in" in sdk.description and "bulk decode" in sdk.description
    assert sdk.bulk is not None
    assert type(sdk.PIServers()).__module__ == "OSIsoft.AF.PI"  # a .NET type, not a Python fake


@DECODES
def test_seed_test1_three_points_one_day_gives_4320_values(pi_archive: Any, bulk: bool) -> None:
    table = assert_same_as_simulator(
        source(bulk=bulk), SimulatorSettings(), SEED_POINTS, DAY_START, DAY_END
    )
    assert table.num_rows == 4320
    assert pi_archive.Connects == 1 and pi_archive.Lookups == 1


@DECODES
@pytest.mark.parametrize(
    ("page_type", "page_size"), [("TagCount", 1), ("TagCount", 4), ("EventCount", 700)]
)
def test_realistic_data_paged_equals_simulator(
    pi_archive: Any, bulk: bool, page_type: str, page_size: int
) -> None:
    sim = SimulatorSettings(defaults=REALISTIC, batch_rows=1_000)
    config = settings(
        data_archive=REALISTIC_SERVER, page_type=page_type, page_size=page_size, batch_rows=2_000
    )
    end = DAY_START + timedelta(days=3)
    table = assert_same_as_simulator(source(config, bulk=bulk), sim, MIXED_POINTS, DAY_START, end)
    assert pi_archive.Pages > 1  # the read really was paged
    if page_type == "EventCount":
        assert pi_archive.Results > len(MIXED_POINTS)  # points came back in parts
    assert pc.max(table["seq"]).as_py() >= 1  # same-timestamp events kept and numbered
    bad = table.filter(pc.invert(table["good"]))
    assert bad.num_rows > 0 and set(bad["state"].to_pylist()) <= SYSTEM_STATES
    digital = table.filter(pc.equal(table["source_address"], "CDM158"))
    assert {"Manual", "Auto"} <= set(digital["state"].to_pylist())
    assert (
        digital.filter(digital["good"])["value"].null_count
        == digital.filter(digital["good"]).num_rows
    )  # a digital state never became its code


@DECODES
def test_a_same_timestamp_run_cut_between_two_pages_keeps_its_numbering(
    pi_archive: Any, bulk: bool
) -> None:
    pi_archive.AddServer("NAIA-SIM-DUPS", 60.0, True, 0.3, 0.005, 0.1)
    sim = SimulatorSettings(defaults=REALISTIC.model_copy(update={"same_timestamp_rate": 0.3}))
    start, end = DAY_START, DAY_START + timedelta(hours=12)
    size = _page_cutting_a_run(sim, "CDT158", start, end)
    config = settings(data_archive="NAIA-SIM-DUPS", page_type="EventCount", page_size=size)
    table = assert_same_as_simulator(source(config, bulk=bulk), sim, ["CDT158"], start, end)
    assert pi_archive.Results > 1 and pc.max(table["seq"]).as_py() >= 1


def test_timestamps_keep_microseconds(pi_archive: Any) -> None:
    config = settings(data_archive=REALISTIC_SERVER)
    table = read_table(source(config), ["SINUSOID"], DAY_START, DAY_START + timedelta(hours=6))
    us = pc.cast(table["ts"], pa.int64()).to_numpy()
    assert np.any(us % 1_000 != 0)  # not truncated to milliseconds


def test_window_is_half_open_although_inside_returns_both_ends(pi_archive: Any) -> None:
    end = DAY_START + timedelta(hours=1)
    raw = _recorded(["SINUSOID"], DAY_START, end)[0]
    ticks = [t.Ticks for t in raw.GetValueArrays(None, None, None)[-2]]
    assert ticks[0] == us_to_ticks(to_us(DAY_START)) and ticks[-1] == us_to_ticks(to_us(end))
    table = read_table(source(), ["SINUSOID"], DAY_START, end)
    assert table.num_rows == 60
    assert table["ts"][-1].as_py() == end - timedelta(minutes=1)


def test_adjacent_windows_neither_lose_nor_double(pi_archive: Any) -> None:
    config = settings(data_archive=REALISTIC_SERVER)
    cut = DAY_START + timedelta(hours=5, minutes=3, seconds=7, microseconds=11)
    whole = read_table(source(config), MIXED_POINTS, DAY_START, DAY_END)
    parts = pa.concat_tables(
        [
            read_table(source(config), MIXED_POINTS, DAY_START, cut),
            read_table(source(config), MIXED_POINTS, cut, DAY_END),
        ]
    ).sort_by([("source_address", "ascending"), ("ts", "ascending"), ("seq", "ascending")])
    assert parts.equals(whole)


def test_results_arrive_out_of_list_order(pi_archive: Any) -> None:
    results = _recorded(list(MIXED_POINTS), DAY_START, DAY_START + timedelta(hours=1))
    names = [values.PIPoint.Name for values in results]
    assert sorted(names) == sorted(MIXED_POINTS) and names != list(MIXED_POINTS)


def test_names_are_case_insensitive_and_kept_as_requested(pi_archive: Any) -> None:
    points = ["sinusoid", "Cdm158"]
    end = DAY_START + timedelta(hours=2)
    table = assert_same_as_simulator(source(), SimulatorSettings(), points, DAY_START, end)
    assert set(table["source_address"].to_pylist()) == set(points)


def test_points_are_read_in_groups_of_points_per_call(pi_archive: Any) -> None:
    end = DAY_START + timedelta(hours=1)
    config = settings(points_per_call=2)
    assert_same_as_simulator(source(config), SimulatorSettings(), MIXED_POINTS, DAY_START, end)
    assert pi_archive.RecordedValuesCalls == 3 and pi_archive.Lookups == 3


def test_net_types_cross_as_documented(pi_archive: Any) -> None:
    """GetValueArrays' out parameters come back as a tuple of .NET arrays; a Float32 value is a
    System.Single (a Python float), a state an AFEnumerationValue object, flags an enum."""
    results = _recorded(["CDT158", "CDM158"], DAY_START, DAY_START + timedelta(days=2))
    by_name = {values.PIPoint.Name: values for values in results}
    out = by_name["CDT158"].GetValueArrays(None, None, None)
    assert len(out) == 3  # pythonnet 3: the out parameters only, no leading None
    values, timestamps, flags = out
    assert type(values).__name__ == "Object[]" and type(timestamps).__name__ == "DateTime[]"
    assert type(values[0]) is float and int(flags[0]) == 192
    assert str(timestamps[0].Kind) == "Utc"
    states, _, _ = by_name["CDM158"].GetValueArrays(None, None, None)
    state = states[0]
    assert type(state).__name__ == "AFEnumerationValue" and state.Name in {
        "Manual", "Auto", "Cascade", "Program", "Prog-Auto"
    }  # fmt: skip


def test_net_exception_arrives_as_its_net_type_with_a_clean_message(pi_archive: Any) -> None:
    sdk = standin_sdk()
    server = sdk.PIServers().DefaultPIServer
    assert server is not None
    pi = importlib.import_module("OSIsoft.AF.PI")
    with pytest.raises(sdk.NetException) as info:
        pi.PIPoint.FindPIPoint(server, "NOPE.1")
    assert type(info.value).__name__ == "PIPointInvalidException"
    assert info.value.Message == "PI Point not found 'NOPE.1'."  # type: ignore[attr-defined]


def test_empty_window_reads_nothing(pi_archive: Any) -> None:
    assert list(source().read(SEED_POINTS, DAY_START, DAY_START)) == []
    assert pi_archive.RecordedValuesCalls == 0


# --- helpers -----------------------------------------------------------------------------------


def _recorded(names: list[str], start: datetime, end: datetime) -> list[Any]:
    """A bulk RecordedValues straight through the SDK types (TagCount pages of 100)."""
    sdk = standin_sdk()
    server = sdk.PIServers().DefaultPIServer
    assert server is not None
    server.Connect()
    point_list = sdk.PIPointList()
    for point in sdk.PIPoint.FindPIPoints(server, sdk.string_list(names), None):
        point_list.Add(point)
    utc = sdk.DateTimeKind.Utc
    start_time = sdk.AFTime(sdk.DateTime(us_to_ticks(to_us(start)), utc))
    end_time = sdk.AFTime(sdk.DateTime(us_to_ticks(to_us(end)), utc))
    config = sdk.PIPagingConfiguration(sdk.PIPageType.TagCount, 100)
    inside = sdk.AFBoundaryType.Inside
    time_range = sdk.AFTimeRange(start_time, end_time)
    return list(point_list.RecordedValues(time_range, inside, None, False, config, 0))


def _page_cutting_a_run(sim: SimulatorSettings, point: str, start: datetime, end: datetime) -> int:
    """An EventCount page size whose page ends fall inside a same-timestamp run."""
    seq = read_table(SimulatorSource(sim), [point], start, end)["seq"].to_numpy()
    for size in range(5, 200):
        if np.any(seq[size::size] > 0):
            return size
    raise AssertionError("no same-timestamp run to cut")


def test_helper_finds_a_page_cutting_a_run() -> None:
    sim = SimulatorSettings(defaults=PointOptions(same_timestamp_rate=0.5))
    size = _page_cutting_a_run(sim, "SINUSOID", DAY_START, DAY_END)
    seq = read_table(SimulatorSource(sim), ["SINUSOID"], DAY_START, DAY_END)["seq"].to_numpy()
    assert seq[size::size].max() > 0

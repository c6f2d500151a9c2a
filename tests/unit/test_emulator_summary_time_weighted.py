"""Time-weighted summaries (calculationBasis TimeWeighted, the PI Web API default): the
arithmetic on hand-made data with hand-computed answers (a ramp, a step, a bad-value gap), then
the HTTP endpoints over the Simulator, timeType, and the SummaryData link."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, create_app
from naia.emulator.render import format_us
from naia.emulator.weighting import Known, time_weighted
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC

S = 10_000_000  # ticks per second
ALL = ("Total", "Average", "Minimum", "Maximum", "Range", "StdDev", "PopulationStdDev",
       "Count", "PercentGood")  # fmt: skip
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z, µs
HOUR = 3_600_000_000
SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"  # \\NAIA-PI\SINUSOID by path
CDT = "P1DPTkFJQS1QSVxDRFQxNTg"  # \\NAIA-PI\CDT158
CDM = "P1DPTkFJQS1QSVxDRE0xNTg"  # \\NAIA-PI\CDM158 (digital)


def known(*events: tuple[int, float | None]) -> Known:
    """Events (seconds, value); None is a bad value (a system state)."""
    bad = np.array([v is None for _, v in events])
    return Known(
        ticks=np.array([t * S for t, _ in events], dtype=np.int64),
        value=np.array([0.0 if v is None else v for _, v in events]),
        good=~bad,
        state=bad,
    )


def tw(data: Known, lo_s: int, hi_s: int, continuous: bool) -> dict[str, Any]:
    return {k: v for k, (v, _) in time_weighted(data, lo_s * S, hi_s * S, continuous, ALL).items()}


# --- the arithmetic, by hand ----------------------------------------------------------------------


def test_a_ramp_is_integrated_linearly_with_values_interpolated_at_the_ends() -> None:
    ramp = known((0, 0.0), (3600, 3600.0), (7200, 0.0))  # 1 per second up, then down
    whole = tw(ramp, 0, 3600, continuous=True)
    assert whole["Average"] == 1800.0
    assert whole["Total"] == 75.0  # 1800 × 1/24 day: a total is per day
    assert (whole["Minimum"], whole["Maximum"], whole["Range"]) == (0.0, 3600.0, 3600.0)
    assert whole["PopulationStdDev"] == pytest.approx(3600 / math.sqrt(12), rel=1e-12)
    assert whole["StdDev"] == whole["PopulationStdDev"]
    assert (whole["Count"], whole["PercentGood"]) == (3600.0, 100.0)  # seconds of good data
    inner = tw(ramp, 900, 2700, continuous=True)  # both ends interpolated: 900 and 2700
    assert inner["Average"] == 1800.0 and inner["Total"] == 37.5
    assert (inner["Minimum"], inner["Maximum"]) == (900.0, 2700.0)
    assert inner["Count"] == 1800.0
    across = tw(ramp, 1800, 5400, continuous=True)  # up to 3600 and down to 1800
    assert (across["Average"], across["Maximum"], across["Minimum"]) == (2700.0, 3600.0, 1800.0)
    times = time_weighted(ramp, 1800 * S, 5400 * S, True, ("Maximum", "Minimum", "Average"))
    assert times["Maximum"][1] == 3600 * S  # the time of the extreme (timeType Auto)
    assert times["Minimum"][1] == 1800 * S and times["Average"][1] == 1800 * S


def test_a_stepped_stream_holds_the_previous_value() -> None:
    step = known((0, 10.0), (1800, 20.0), (5400, 30.0))
    held = tw(step, 900, 3600, continuous=False)  # 10 held from 900 s to 1800 s, then 20
    assert held["Average"] == pytest.approx((900 * 10 + 1800 * 20) / 2700, rel=1e-15)
    assert held["Total"] == pytest.approx(held["Average"] * 2700 / 86400, rel=1e-15)
    assert (held["Minimum"], held["Maximum"], held["Range"]) == (10.0, 20.0, 10.0)
    mean = (900 * 10 + 1800 * 20) / 2700
    var = (900 * (10 - mean) ** 2 + 1800 * (20 - mean) ** 2) / 2700
    assert held["PopulationStdDev"] == pytest.approx(math.sqrt(var), rel=1e-12)
    assert held["Count"] == 2700.0 and held["PercentGood"] == 100.0
    linear = tw(step, 0, 1800, continuous=True)  # the same events read as continuous data
    assert linear["Average"] == 15.0
    assert tw(step, 0, 1800, continuous=False)["Average"] == 10.0
    assert tw(step, 5400, 9000, continuous=True)["Average"] == 30.0  # no later event: held


def test_bad_values_are_left_out_of_the_time() -> None:
    gap = known((0, 10.0), (1200, None), (2400, 40.0))  # bad from 1200 s to 2400 s
    for continuous in (False, True):
        got = tw(gap, 0, 3600, continuous)
        assert got["Count"] == 2400.0  # 1200 s good + 1200 s good
        assert got["PercentGood"] == pytest.approx(200 / 3, rel=1e-15)
        assert got["Average"] == 25.0  # (10 × 1200 + 40 × 1200) / 2400
        assert got["Total"] == pytest.approx(25.0 * 3600 / 86400, rel=1e-15)  # ÷ fraction good
        assert (got["Minimum"], got["Maximum"]) == (10.0, 40.0)
    only_bad = tw(gap, 1300, 2300, continuous=True)
    assert only_bad["Count"] == 0.0 and only_bad["PercentGood"] == 0.0
    assert only_bad["Average"] is None and only_bad["Minimum"] is None  # Calc Failed
    before_any = tw(known((100, 5.0)), 0, 200, continuous=True)  # no value before 100 s
    assert before_any["Count"] == 100.0 and before_any["PercentGood"] == 50.0
    assert before_any["Average"] == 5.0


# --- over HTTP ------------------------------------------------------------------------------------


def make(simulator: SimulatorSettings | None = None) -> TestClient:
    sim = simulator or SimulatorSettings(defaults=PointOptions())
    return TestClient(create_app(EmulatorSettings(simulator=sim), clock=lambda: T0 + 48 * HOUR))


def summary(client: TestClient, web_id: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/piwebapi/streams/{web_id}/summary", params=params)
    assert r.status_code == 200, r.text
    return {i["Type"]: i for i in r.json()["Items"]}


def test_time_weighted_is_the_default_basis_and_matches_the_trapezoid() -> None:
    lo, hi = T0, T0 + HOUR  # regular data: an event every minute on the minute
    events = np.concatenate([e.value for e in SimulatorSource().events("SINUSOID", lo, hi + 1)])
    assert events.size == 61
    average = float(((events[:-1] + events[1:]) / 2).sum() * 60 / 3600)
    with make() as client:
        got = summary(client, SIN, startTime=format_us(lo), endTime=format_us(hi),
                      summaryType=["Average", "Total", "Count", "PercentGood"])  # fmt: skip
    assert got["Average"]["Value"]["Value"] == pytest.approx(average, rel=1e-12)
    assert got["Total"]["Value"]["Value"] == pytest.approx(average / 24, rel=1e-12)
    assert got["Count"]["Value"]["Value"] == 3600.0
    assert got["PercentGood"]["Value"]["Value"] == 100.0
    assert got["Average"]["Value"]["Timestamp"] == format_us(lo)


def test_discrete_holds_and_continuous_interpolates_at_the_boundaries() -> None:
    lo, hi = T0 + 30_000_000, T0 + 90_000_000  # 00:00:30 → 00:01:30, events at 0, 60, 120 s
    v = np.concatenate(
        [e.value for e in SimulatorSource().events("SINUSOID", T0, T0 + 121_000_000)]
    )
    with make() as client:
        window = {"startTime": format_us(lo), "endTime": format_us(hi), "summaryType": "Average"}
        held = summary(client, SIN, calculationBasis="TimeWeightedDiscrete", **window)
        linear = summary(client, SIN, calculationBasis="TimeWeightedContinuous", **window)
    assert held["Average"]["Value"]["Value"] == pytest.approx((v[0] + v[1]) / 2, rel=1e-12)
    mid0, mid1 = (v[0] + v[1]) / 2, (v[1] + v[2]) / 2  # the values interpolated at 30 s and 90 s
    want = ((mid0 + v[1]) / 2 + (v[1] + mid1) / 2) / 2
    assert linear["Average"]["Value"]["Value"] == pytest.approx(want, rel=1e-12)


def test_time_weighted_percent_good_is_based_on_time() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    lo, hi = T0, T0 + 24 * HOUR
    with make(sim) as client:
        r = client.get(f"/piwebapi/streams/{CDT}/recorded", params={
            "startTime": format_us(lo), "endTime": format_us(hi), "boundaryType": "Outside",
            "maxCount": 100_000, "selectedFields": "Items.Timestamp;Items.Good"})  # fmt: skip
        got = summary(client, CDT, startTime=format_us(lo), endTime=format_us(hi),
                      summaryType=["Count", "PercentGood"])  # fmt: skip
    from datetime import datetime

    stamps = [datetime.fromisoformat(i["Timestamp"]).timestamp() for i in r.json()["Items"]]
    good = [i["Good"] for i in r.json()["Items"]]
    edges = [max(t, lo / 1e6) for t in stamps[:-1]] + [hi / 1e6]
    bad_s = sum(min(b, hi / 1e6) - a for a, b, g in zip(edges, edges[1:], good, strict=False)
                if not g and a < hi / 1e6)  # fmt: skip
    assert 0 < bad_s < 86_400  # the day holds bad values
    assert got["Count"]["Value"]["Value"] == pytest.approx(86_400 - bad_s, abs=1e-6)
    assert got["PercentGood"]["Value"]["Value"] == pytest.approx(
        100 * (86_400 - bad_s) / 86_400, rel=1e-9
    )


def test_time_type_places_the_timestamp() -> None:
    lo, hi = T0, T0 + 24 * HOUR
    window = {"startTime": format_us(lo), "endTime": format_us(hi)}
    with make() as client:
        auto = summary(client, SIN, summaryType=["Maximum", "Average"], **window)
        late = summary(client, SIN, summaryType=["Maximum", "Average"], timeType="MostRecentTime",
                       **window)  # fmt: skip
        early = summary(client, SIN, summaryType="Maximum", timeType="earliesttime", **window)
        bad = client.get(f"/piwebapi/streams/{SIN}/summary", params={"timeType": "Noon"})
    assert auto["Average"]["Value"]["Timestamp"] == format_us(lo)
    assert auto["Maximum"]["Value"]["Timestamp"] not in (format_us(lo), format_us(hi))
    assert late["Maximum"]["Value"]["Timestamp"] == format_us(hi)
    assert late["Average"]["Value"]["Timestamp"] == format_us(hi)
    assert early["Maximum"]["Value"]["Timestamp"] == format_us(lo)
    assert bad.status_code == 400 and "timeType" in bad.json()["Errors"][0]


def test_a_digital_point_counts_seconds_and_fails_other_types_in_their_item() -> None:
    with make() as client:
        got = summary(client, CDM, startTime=format_us(T0), endTime=format_us(T0 + HOUR),
                      summaryType=["Count", "PercentGood", "Average"])  # fmt: skip
        default = client.get(f"/piwebapi/streams/{CDM}/summary")  # Total: not for a digital point
    assert got["Count"]["Value"]["Value"] == 3600.0
    assert got["PercentGood"]["Value"]["Value"] == 100.0
    assert got["Average"]["WebException"]["StatusCode"] == 400
    assert "non-numeric" in got["Average"]["WebException"]["Errors"][0]
    assert default.status_code == 200
    [total] = default.json()["Items"]
    assert total["Type"] == "Total" and total["WebException"]["StatusCode"] == 400


def test_streamset_summary_is_time_weighted_by_default() -> None:
    lo, hi = T0, T0 + 2 * HOUR
    params = [("webId", SIN), ("webId", CDM), ("startTime", format_us(lo)),
              ("endTime", format_us(hi)), ("summaryType", "Count"), ("summaryDuration", "1h"),
              ("timeZone", "UTC")]  # fmt: skip
    with make() as client:
        r = client.get("/piwebapi/streamsets/summary", params=params)
    assert r.status_code == 200, r.text
    for stream in r.json()["Items"]:
        assert [i["Value"]["Value"] for i in stream["Items"]] == [3600.0, 3600.0]
        assert [i["Value"]["Timestamp"] for i in stream["Items"]] == [
            format_us(lo), format_us(lo + HOUR)]  # fmt: skip


def test_summary_types_all_and_all_for_non_numeric() -> None:
    window = {"startTime": format_us(T0), "endTime": format_us(T0 + HOUR)}
    with make() as client:
        every = summary(client, SIN, summaryType="All", **window)
        non_numeric = summary(client, CDM, summaryType="AllForNonNumeric", **window)
        with_uom = summary(client, SIN, summaryType=["Total", "TotalWithUOM"], **window)
    assert set(every) == set(ALL)
    assert all(item["Value"]["Good"] for item in every.values())
    assert set(non_numeric) == {"Count", "PercentGood"}
    assert with_uom["TotalWithUOM"]["Value"] == with_uom["Total"]["Value"]  # a PI point: no UOM


def test_the_point_advertises_summary_data_and_it_answers() -> None:
    with make() as client:
        point = client.get("/piwebapi/points", params={"path": r"\\NAIA-PI\SINUSOID"}).json()
        link = point["Links"]["SummaryData"]
        r = client.get(link)
    assert link.endswith("/summary")
    assert r.status_code == 200, r.text
    [total] = r.json()["Items"]
    assert total["Type"] == "Total" and total["Value"]["Good"] is True

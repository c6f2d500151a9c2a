"""The emulator's summaries: Count with AVEVA's event-weighted boundary rules, bad values left
out, summaryDuration intervals, streamsets, and the other summary types over good values."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, create_app
from naia.emulator.render import format_us
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC

T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HOUR = 3_600_000_000
DAY = 24 * HOUR
SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"  # \\NAIA-PI\SINUSOID by path
CDT = "P1DPTkFJQS1QSVxDRFQxNTg"  # \\NAIA-PI\CDT158
CDM = "P1DPTkFJQS1QSVxDRE0xNTg"  # \\NAIA-PI\CDM158


def make(simulator: SimulatorSettings | None = None) -> TestClient:
    sim = simulator or SimulatorSettings(defaults=PointOptions())
    return TestClient(create_app(EmulatorSettings(simulator=sim), clock=lambda: T0))


REALISTIC_SIM = SimulatorSettings(defaults=REALISTIC)


def summary(client: TestClient, web_id: str, **params: Any) -> Any:
    r = client.get(f"/piwebapi/streams/{web_id}/summary", params=params)
    assert r.status_code == 200, r.text
    return r.json()["Items"]


def good_times(point: str, lo: int, hi_inclusive: int, sim: SimulatorSettings) -> np.ndarray:
    parts = [e.ts_us[e.good] for e in SimulatorSource(sim).events(point, lo, hi_inclusive + 1)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def test_event_weighted_count_of_one_interval_uses_both_ends() -> None:
    with make() as client:  # regular: one event a minute on the minute, at lo and at hi too
        lo, hi = T0, T0 + HOUR
        span = {"startTime": format_us(lo), "endTime": format_us(hi), "summaryType": "Count"}
        [both] = summary(client, SIN, calculationBasis="EventWeighted", **span)
        assert both["Type"] == "Count" and both["Value"]["Value"] == 61
        assert both["Value"]["Timestamp"] == format_us(lo)
        [half] = summary(client, SIN, calculationBasis="EventWeightedExcludeMostRecentEvent",
                         **span)  # fmt: skip
        assert half["Value"]["Value"] == 60
        [late] = summary(client, SIN, calculationBasis="EventWeightedExcludeEarliestEvent",
                         **span)  # fmt: skip
        assert late["Value"]["Value"] == 60


def test_several_intervals_take_the_event_at_their_start_and_leave_bad_values_out() -> None:
    with make(simulator=REALISTIC_SIM) as client:
        lo, hi = T0, T0 + 2 * DAY
        items = summary(
            client, CDT, startTime=format_us(lo), endTime=format_us(hi), summaryDuration="6h",
            summaryType=["Count", "PercentGood"], calculationBasis="EventWeighted",
        )  # fmt: skip
        counts = [i["Value"]["Value"] for i in items if i["Type"] == "Count"]
        assert len(counts) == 8
        ts = good_times("CDT158", lo, hi, REALISTIC_SIM)
        edges = [lo + k * 6 * HOUR for k in range(9)]
        want = [int(((ts >= a) & (ts < b)).sum()) for a, b in pairwise(edges)]
        assert counts == want
        every = sum(len(e) for e in SimulatorSource(REALISTIC_SIM).events("CDT158", lo, hi))
        assert sum(counts) < every  # system states (bad) are not counted
        percent = [i["Value"]["Value"] for i in items if i["Type"] == "PercentGood"]
        assert all(0 < p < 100 or p == 100 for p in percent)


def test_streamset_summary_answers_every_stream() -> None:
    with make(simulator=REALISTIC_SIM) as client:
        params = [("webId", SIN), ("webId", CDT), ("startTime", format_us(T0)),
                  ("endTime", format_us(T0 + DAY)), ("summaryType", "Count"),
                  ("summaryDuration", "12h"), ("calculationBasis", "EventWeighted")]  # fmt: skip
        r = client.get("/piwebapi/streamsets/summary", params=params)
        assert r.status_code == 200, r.text
        streams = r.json()["Items"]
        assert [s["Name"] for s in streams] == ["SINUSOID", "CDT158"]
        for stream, point in zip(streams, ("SINUSOID", "CDT158"), strict=True):
            ts = good_times(point, T0, T0 + DAY, REALISTIC_SIM)
            mid, end = T0 + 12 * HOUR, T0 + DAY
            halves = [int((ts < mid).sum()), int(((ts >= mid) & (ts < end)).sum())]
            assert [i["Value"]["Value"] for i in stream["Items"]] == halves


def test_numeric_summaries_of_good_values() -> None:
    with make() as client:
        lo, hi = T0, T0 + HOUR
        items = summary(
            client, SIN, startTime=format_us(lo), endTime=format_us(hi),
            summaryType=["Average", "Minimum", "Maximum", "Range", "Total"],
            calculationBasis="EventWeightedExcludeMostRecentEvent",
        )  # fmt: skip
        got = {i["Type"]: i["Value"] for i in items}
        values = np.concatenate([e.value for e in SimulatorSource().events("SINUSOID", lo, hi)])
        assert got["Average"]["Value"] == float(values.mean())
        assert got["Total"]["Value"] == float(values.sum())
        assert got["Range"]["Value"] == float(values.max() - values.min())
        assert got["Minimum"]["Value"] == float(values.min())
        assert got["Maximum"]["Timestamp"] != format_us(lo)  # the time of the maximum


def test_refusals() -> None:
    with make() as client:
        url = f"/piwebapi/streams/{SIN}/summary"
        assert client.get(url, params={"summaryType": "Count"}).status_code == 200  # TimeWeighted
        bad_type = {"summaryType": "Median", "calculationBasis": "EventWeighted"}
        assert client.get(url, params=bad_type).status_code == 400
        bad_duration = {"summaryType": "Count", "calculationBasis": "EventWeighted",
                        "summaryDuration": "soon"}  # fmt: skip
        assert client.get(url, params=bad_duration).status_code == 400
        digital = {"summaryType": "Average", "calculationBasis": "EventWeighted"}
        r = client.get(f"/piwebapi/streams/{CDM}/summary", params=digital)
        [item] = r.json()["Items"]  # the type fails in its own item
        assert r.status_code == 200 and "non-numeric" in item["WebException"]["Errors"][0]
        bad_basis = {"summaryType": "Count", "calculationBasis": "Sometimes"}
        assert client.get(url, params=bad_basis).status_code == 400

"""Tests of the in-memory PI Web API double (tests/doubles/piwebapi_fake.py) itself."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from naia.domain.timeparse import to_us
from naia.sources.simulator import SimulatorSettings
from tests.doubles.piwebapi_fake import BASE_URL, T0, FakePiWebApi, render_ts


def test_fake_includes_both_ends_and_truncates_silently() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    client = httpx.Client(transport=fake.transport(), base_url=BASE_URL)
    params = {
        "startTime": "2026-01-09T00:00:00Z",
        "endTime": "2026-01-09T00:10:00Z",
        "webId": "P1DPUElTUlYxXFNJTlVTT0lE",
    }
    items = client.get("/streams/P1DPUElTUlYxXFNJTlVTT0lE/recorded", params=params).json()["Items"]
    assert len(items) == 11
    assert items[0]["Timestamp"] == "2026-01-09T00:00:00Z"
    assert items[-1]["Timestamp"] == "2026-01-09T00:10:00Z"
    params["endTime"] = (T0 + timedelta(days=1)).isoformat()
    items = client.get("/streams/P1DPUElTUlYxXFNJTlVTT0lE/recorded", params=params).json()["Items"]
    assert len(items) == 1000


def test_fake_refuses_post_without_csrf_header() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    client = httpx.Client(transport=fake.transport(), base_url=BASE_URL)
    assert client.post("/batch", json={}).status_code == 403
    ok = client.post("/batch", json={}, headers={"X-Requested-With": "x"})
    assert ok.status_code == 207


def test_fake_timestamps_have_up_to_seven_digits() -> None:
    assert render_ts(to_us(T0)) == "2026-01-09T00:00:00Z"
    base = to_us(T0)  # the 7th (sub-µs) digit is µs % 7: some stamps carry it, some do not
    assert render_ts(base + 875_762)[:26] == "2026-01-09T00:00:00.875762"
    assert len(render_ts(base + 875_762)) in (27, 28)
    assert re.fullmatch(r"2026-01-09T00:00:00\.5\d{0,6}Z", render_ts(base + 500_000))

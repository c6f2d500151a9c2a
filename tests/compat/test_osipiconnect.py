"""osipiconnect, unchanged, against the emulator over real HTTP with Basic authentication.

The client is ``osipiconnect`` (the OSIsoft PI Developers Club Python client,
``osisoft.pidevclub.piwebapi``, 2018 API, with NTLM instead of Kerberos so that it installs from
wheels; ``osisoft-pidevclub-piwebapi`` itself needs a Kerberos build toolchain). It runs in its
own virtualenv (``var/compat/osipiconnect``, pins in ``constraints.txt``), never in NAIA's; the
driver (``drivers/osipiconnect_driver.py``) prints what it read, compared here with the Simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from naia.emulator import BackgroundServer, EmulatorSettings
from naia.emulator.render import format_us
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.compat.conftest import drive

SIM = SimulatorSettings(defaults=REALISTIC)
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
DAY = 86_400_000_000
START, END = format_us(T0), format_us(T0 + 2 * DAY)
USER, PASSWORD = "piuser", "pw-1"
SETTINGS = EmulatorSettings.model_validate(
    {"simulator": SIM, "auth": "basic", "username": USER, "password": PASSWORD}
)

pytestmark = pytest.mark.timeout(900)  # the first run builds the virtualenv


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
def outcome(server: BackgroundServer) -> dict[str, Any]:
    return drive("osipiconnect", "osipiconnect_driver.py", server.url, START, END, USER, PASSWORD)


def ok(outcome: dict[str, Any], scenario: str) -> Any:
    result = outcome[scenario]
    assert result["ok"], result.get("trace") or result.get("error")
    return result["result"]


def simulator_items(point: str, lo: int, hi: int) -> list[list[Any]]:
    """[timestamp, value or state dict, good] of the Simulator's events in [lo, hi]."""
    out: list[list[Any]] = []
    for ev in SimulatorSource(SIM).events(point, lo, hi + 1):
        rows = zip(
            ev.ts_us.tolist(), ev.value.tolist(), ev.state_index.tolist(),
            ev.is_system.tolist(), ev.good.tolist(), strict=True,
        )  # fmt: skip
        for ts, value, state, system, good in rows:
            shown: Any = value
            if state >= 0:
                code = int(ev.state_codes[state])
                shown = {"Name": ev.state_names[state], "Value": code, "IsSystem": system}
            out.append([format_us(ts), shown, good])
    return out


def test_point_lookup_by_path(outcome: dict[str, Any]) -> None:
    point = ok(outcome, "lookup")
    assert (point["name"], point["point_type"], point["units"]) == ("CDT158", "Float32", "deg C")
    assert point["path"] == "\\\\NAIA-PI\\CDT158"
    assert point["decoded_id"] == point["id"]  # the client's own WebID decoder
    assert (point["type_letter"], point["marker"]) == ("F", "DP")
    assert point["summary_link"].endswith("/summary")  # SummaryData is advertised


def test_recorded_read_equals_the_simulator(outcome: dict[str, Any]) -> None:
    read = ok(outcome, "recorded")
    expected = simulator_items("CDT158", T0, T0 + 2 * DAY)
    assert len(expected) > 2_000
    assert read["items"] == expected
    assert read["units"] == "deg C"
    assert any(not good for _, _, good in expected)  # system states came through


def test_recorded_read_of_a_digital_point(outcome: dict[str, Any]) -> None:
    assert ok(outcome, "digital")["items"] == simulator_items("BA:PHASE.1", T0, T0 + 2 * DAY)


def test_default_max_count_truncates_at_1000(outcome: dict[str, Any]) -> None:
    read = ok(outcome, "default_max_count")["items"]
    assert read == simulator_items("SINUSOID", T0, T0 + 2 * DAY)[:1000]


def test_client_built_path_webid_and_dataframe_helper(outcome: dict[str, Any]) -> None:
    found = ok(outcome, "path_web_id_and_frame")
    assert found["web_id"] == "P1DPTkFJQS1QSVxTSU5VU09JRA"
    assert found["name"] == "SINUSOID"
    expected = simulator_items("SINUSOID", T0, T0 + 2 * DAY)
    assert found["timestamps"] == [t for t, _, _ in expected]
    assert found["values"] == [v for _, v, _ in expected]


def test_streamset_read(outcome: dict[str, Any]) -> None:
    streams = ok(outcome, "streamset")
    names = ["SINUSOID", "CDM158", "SIM.7"]
    assert [s["name"] for s in streams] == names
    for stream, name in zip(streams, names, strict=True):
        assert stream["items"] == simulator_items(name, T0, T0 + 2 * DAY)


def test_errors_reach_the_client(outcome: dict[str, Any]) -> None:
    errors = ok(outcome, "errors")
    assert errors["unknown"] == {
        "status": 404, "error": {"Errors": ["PI Point not found '\\\\NAIA-PI\\NO.SUCH.TAG'."]},
    }  # fmt: skip
    assert errors["too_many"] == {"status": 400}
    assert errors["password"]["status"] == 401
    assert errors["password"]["error"] == {
        "Message": "Authorization has been denied for this request."
    }
    assert "Basic" in errors["password"]["authenticate"]


def test_batch_with_a_request_template(outcome: dict[str, Any]) -> None:
    batch = ok(outcome, "batch")
    assert batch["statuses"] == [200, 207]
    assert batch["total"] == 5
    assert batch["first"] == simulator_items("BA:TEMP.1", T0, T0 + 2 * DAY)


def test_summaries_time_and_event_weighted(
    outcome: dict[str, Any], server: BackgroundServer
) -> None:
    got = ok(outcome, "summary")
    auth = httpx.BasicAuth(USER, PASSWORD)
    for basis in ("TimeWeighted", "EventWeighted"):
        params = {
            "startTime": START,
            "endTime": END,
            "summaryDuration": "6h",
            "summaryType": ["Average", "Count", "Maximum"],
            "calculationBasis": basis,
        }
        url = f"{server.url}/streams/P1DPTkFJQS1QSVxTSU5VU09JRA/summary"
        body = httpx.get(url, params=params, auth=auth).json()
        want = [[s["Type"], s["Value"]["Timestamp"], s["Value"]["Value"], s["Value"]["Good"]]
                for s in body["Items"]]  # fmt: skip
        assert got[basis] == want
        assert len(want) == 8 * 3 and all(good for *_, good in want)
    counts = [c for kind, _, c, _ in got["TimeWeighted"] if kind == "Count"]
    assert all(0 < c <= 6 * 3600 for c in counts)  # seconds of good data per 6 h

"""Published PI Web API clients from PyPI, unchanged, against the emulator over real HTTP.

Each client lives in its own virtualenv (``var/compat/<name>``, pins in ``constraints.txt``) and
runs a driver script there (``drivers/``); what it read is compared here with the Simulator.

* pi-web-sdk 0.1.34: discovery, point search, recorded over a range paged by count, streamset,
  batch (with ParentIds and a JSONPath parameter), value / end / streamset value, interpolated.
* kukur 0.1.20 (its ``piwebapi-da`` source): search of the whole archive (with digital state
  dictionaries from the enumeration sets), metadata, data over a range paged by
  MaxReturnedItemsPerCall (float and digital points).

Summaries are driven by osipiconnect (``test_osipiconnect.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from naia.emulator import BackgroundServer, EmulatorSettings
from naia.emulator.render import format_us
from naia.emulator.settings import ExtraPoint
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.catalogue import all_classic
from naia.sources.simulator.settings import REALISTIC
from tests.compat.conftest import drive

SIM = SimulatorSettings(defaults=REALISTIC)
ODD = 'Unit 1, "Reactor"=B \\ / #ü 温度'  # served with CDT158's data
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
DAY = 86_400_000_000
START, END = format_us(T0), format_us(T0 + DAY)

pytestmark = pytest.mark.timeout(900)  # the first run builds the virtualenvs


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    settings = EmulatorSettings(simulator=SIM, points=(ExtraPoint(name=ODD, like="CDT158"),))
    with BackgroundServer(settings) as running:
        yield running


@pytest.fixture(scope="module")
def pi_web_sdk(server: BackgroundServer) -> dict[str, Any]:
    return drive("pi-web-sdk", "pi_web_sdk_driver.py", server.url, START, END)


@pytest.fixture(scope="module")
def kukur(server: BackgroundServer) -> dict[str, Any]:
    archive = f"{server.url}/dataservers?path=\\\\NAIA-PI"
    return drive("kukur", "kukur_driver.py", archive, START, END, ODD)


def events(point: str) -> list[tuple[int, Any, bool, bool]]:
    """(µs, number or state dict, good, is_system) of the Simulator's events in [T0, T0+DAY]."""
    out: list[tuple[int, Any, bool, bool]] = []
    for ev in SimulatorSource(SIM).events(point, T0, T0 + DAY + 1):
        rows = zip(
            ev.ts_us.tolist(), ev.value.tolist(), ev.state_index.tolist(),
            ev.is_system.tolist(), ev.good.tolist(), strict=True,
        )  # fmt: skip
        for ts, value, state, system, good in rows:
            shown: Any = value
            if state >= 0:
                code = int(ev.state_codes[state])
                shown = {"Name": ev.state_names[state], "Value": code, "IsSystem": system}
            out.append((ts, shown, good, system))
    return out


def as_json(point: str) -> list[list[Any]]:
    return [[format_us(ts), value, good] for ts, value, good, _ in events(point)]


def ok(outcome: dict[str, Any], scenario: str) -> Any:
    result = outcome[scenario]
    assert result["ok"], result.get("trace") or result
    return result["result"]


# --- pi-web-sdk --------------------------------------------------------------------------------


def test_pi_web_sdk_discovery(pi_web_sdk: dict[str, Any]) -> None:
    found = ok(pi_web_sdk, "discovery")
    assert "DataServers" in found["links"] and "System" in found["links"]
    assert found["product"] == "PI Web API 2018 SP1"
    assert found["servers"] == ["NAIA-PI"]


def test_pi_web_sdk_point_search(pi_web_sdk: dict[str, Any]) -> None:
    found = ok(pi_web_sdk, "point_search")
    assert found["names"] == [p.name for p in all_classic() if p.name.startswith("BA:")]
    assert found["cdt158"] == ["CDT158", "Float32", "deg C"]


@pytest.mark.parametrize(
    ("scenario", "route"),
    [
        ("point_by_path", "/piwebapi/points/path/"),
        ("server_by_name", "/piwebapi/dataservers/name/"),
    ],
)
def test_pi_web_sdk_lookups_by_path_and_name_are_bugs_of_the_client(
    pi_web_sdk: dict[str, Any], scenario: str, route: str
) -> None:
    """A bug of pi-web-sdk 0.1.34, not of the emulator: ``point.get_by_path`` requests
    ``GET points/path/{path}`` and ``data_server.get_by_name`` ``GET dataservers/name/{name}``,
    routes PI Web API does not have (its reference: ``GET points?path=`` and
    ``GET dataservers?name=``), so a real server answers 404 too. The other scenarios find
    WebIds with the client's data server list and point search instead."""
    result = pi_web_sdk[scenario]
    assert not result["ok"]
    assert "No HTTP resource was found" in result["error"]
    assert route in result["error"]


def test_pi_web_sdk_recorded_over_a_range_with_paging(pi_web_sdk: dict[str, Any]) -> None:
    expected = as_json("CDT158")
    assert len(expected) > 1_000  # several pages of 500
    assert ok(pi_web_sdk, "recorded_paged") == expected


def test_pi_web_sdk_streamset(pi_web_sdk: dict[str, Any]) -> None:
    assert ok(pi_web_sdk, "streamset") == {
        "SINUSOID": as_json("SINUSOID"),
        "CDM158": as_json("CDM158"),
    }


def test_pi_web_sdk_batch(pi_web_sdk: dict[str, Any]) -> None:
    found = ok(pi_web_sdk, "batch")
    assert found["status"] == {"point": 200, "data": 200}
    assert found["values"] == as_json("SINUSOID")


def test_pi_web_sdk_value_end_and_streamset_value(pi_web_sdk: dict[str, Any]) -> None:
    found = ok(pi_web_sdk, "value")
    assert found["at"][0] == START and isinstance(found["at"][1], float)
    assert found["end_keys"] == sorted(
        ["Timestamp", "Value", "UnitsAbbreviation", "Good", "Questionable", "Substituted",
         "Annotated"]
    )  # fmt: skip
    assert found["set"] == [["CDT158", START], ["CDM158", START]]


def test_pi_web_sdk_interpolated(pi_web_sdk: dict[str, Any]) -> None:
    stamps = [format_us(T0 + k * DAY // 4) for k in range(5)]
    assert ok(pi_web_sdk, "interpolated") == stamps


# --- kukur -------------------------------------------------------------------------------------


def test_kukur_search_lists_the_archive(kukur: dict[str, Any]) -> None:
    names = ok(kukur, "search")
    expected = [p.name for p in all_classic()] + [ODD] + [f"SIM.{n}" for n in range(1, 101)]
    assert names == sorted(expected)


def test_kukur_metadata_with_digital_dictionary(kukur: dict[str, Any]) -> None:
    found = ok(kukur, "metadata")
    modes = ["Manual", "Auto", "Cascade", "Program", "Prog-Auto"]
    assert found["cdm_dictionary"] == [[code, name] for code, name in enumerate(modes)]
    assert found["cdt_unit"] == "deg C"
    assert found["cdt_description"] == "Light Naphtha End Point"


def kukur_rows(point: str) -> list[list[Any]]:
    """What kukur keeps: system states are dropped (its own choice), states become codes."""
    out = []
    for ts, value, good, system in events(point):
        if system:
            continue
        shown = value["Value"] if isinstance(value, dict) else value
        when = datetime.fromtimestamp(ts // 1_000_000, UTC).replace(microsecond=ts % 1_000_000)
        out.append([when.isoformat(), shown, 1 if good else 0])
    return out


@pytest.mark.parametrize(
    ("scenario", "point"),
    [("data_float", "CDT158"), ("data_digital", "BA:PHASE.1"), ("data_odd_name", "CDT158")],
)
def test_kukur_data_over_a_range_with_paging(
    kukur: dict[str, Any], scenario: str, point: str
) -> None:
    expected = kukur_rows(point)
    assert len(expected) > 500  # more than one page of MaxReturnedItemsPerCall=500
    assert ok(kukur, scenario) == expected

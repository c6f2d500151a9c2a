"""The emulator answers as AVEVA documents PI Web API (issue 14): each test names the behaviour;
docs/emulator.md has the table behaviour → AVEVA reference → emulator → test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, create_app
from naia.emulator.pitime import (
    PiTimeError,
    TimeZoneError,
    from_ticks,
    resolve_range,
    resolve_time,
    time_zone,
)
from naia.emulator.render import format_us
from naia.emulator.settings import load_emulator_settings
from naia.emulator.webid import b64
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC

NOW = 1_767_610_800_000_000  # 2026-01-05T11:00:00Z, a Monday
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HOUR = 3_600_000_000
SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"  # \\NAIA-PI\SINUSOID
CDT = "P1DPTkFJQS1QSVxDRFQxNTg"  # \\NAIA-PI\CDT158
CDM = "P1DPTkFJQS1QSVxDRE0xNTg"  # \\NAIA-PI\CDM158
NOPE = "P1DPTkFJQS1QSVxOT1BF"  # \\NAIA-PI\NOPE
ODD = 'Unit 1, "Reactor"=B \\ / #ü 温度'  # spaces , = quotes \ / # unicode
REGULAR = SimulatorSettings(defaults=PointOptions())


def iso(ticks: int) -> str:
    return from_ticks(ticks).isoformat().replace("+00:00", "Z")


def path_web_id(tag: str) -> str:
    return "P1DP" + b64(f"NAIA-PI\\{tag}".upper().encode("utf-8"))


def make(simulator: SimulatorSettings = REGULAR, clock: int = T0, **kw: Any) -> TestClient:
    settings = EmulatorSettings.model_validate({"simulator": simulator, **kw})
    return TestClient(create_app(settings, clock=lambda: clock))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make() as c:
        yield c


def items(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"/piwebapi/{path}", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["Items"]
    return found


def stamps(found: list[dict[str, Any]]) -> list[str]:
    return [i["Timestamp"] for i in found]


# --- 1. PI time strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", "2026-01-05T11:00:00Z"),
        ("", "2026-01-05T11:00:00Z"),
        ("today", "2026-01-05T00:00:00Z"),
        ("yesterday", "2026-01-04T00:00:00Z"),
        ("mon", "2026-01-05T00:00:00Z"),
        ("sunday", "2026-01-04T00:00:00Z"),
        ("wed", "2025-12-31T00:00:00Z"),
        ("jun", "2026-06-05T00:00:00Z"),
        ("december 25", "2026-12-25T00:00:00Z"),
        ("15", "2026-01-15T00:00:00Z"),
        ("2025", "2025-01-05T00:00:00Z"),
        ("10:30", "2026-01-05T10:30:00Z"),
        ("t+8h", "2026-01-05T08:00:00Z"),
        ("y+16h30m", "2026-01-04T16:30:00Z"),
        ("*-1mo", "2025-12-05T11:00:00Z"),
        ("*-1month", "2025-12-05T11:00:00Z"),
        ("*-2 months", "2025-11-05T11:00:00Z"),
        ("*-1y", "2025-01-05T11:00:00Z"),
        ("*+1 year", "2027-01-05T11:00:00Z"),
        ("*-3 days", "2026-01-02T11:00:00Z"),
        ("*-1day", "2026-01-04T11:00:00Z"),
        ("*-1w", "2025-12-29T11:00:00Z"),
        ("*-2weeks", "2025-12-22T11:00:00Z"),
        ("*-90sec", "2026-01-05T10:58:30Z"),
        ("*-1 second", "2026-01-05T10:59:59Z"),
        ("*-30 seconds", "2026-01-05T10:59:30Z"),
        ("*-5min", "2026-01-05T10:55:00Z"),
        ("*-2 minutes", "2026-01-05T10:58:00Z"),
        ("*-1hour", "2026-01-05T10:00:00Z"),
        ("*-1.5 hours", "2026-01-05T09:30:00Z"),
        ("01-Jan-2026", "2026-01-01T00:00:00Z"),
        ("01-Jan-2026 10:00:00", "2026-01-01T10:00:00Z"),
        ("1/1/2026 10:00", "2026-01-01T10:00:00Z"),
        ("1/1/2026 10:00 PM", "2026-01-01T22:00:00Z"),
        ("Jan 1, 2026", "2026-01-01T00:00:00Z"),
        ("'01-Jan-2026'+1d", "2026-01-02T00:00:00Z"),
        ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"),
    ],
)
def test_the_pi_time_grammar(text: str, expected: str) -> None:
    assert iso(resolve_time(text, NOW)) == expected


def test_seven_digit_times_keep_their_100_ns() -> None:
    assert resolve_time("2026-01-01T00:00:00.1234567Z", NOW) % 10 == 7


@pytest.mark.parametrize(
    "text", ["*-1.5mo", "*-1y2", "t+1fortnight", "someday", "*-", "13/45/2026"]
)
def test_what_pi_refuses(text: str) -> None:
    with pytest.raises(PiTimeError):
        resolve_time(text, NOW)


def test_a_bare_relative_end_is_relative_to_the_start_and_start_to_the_end() -> None:
    lo, hi = resolve_range("2024-01-01T00:00:00Z", "+1h", NOW)
    assert (iso(lo), iso(hi)) == ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
    lo, hi = resolve_range("-1h", "2024-01-01T00:00:00Z", NOW)
    assert (iso(lo), iso(hi)) == ("2023-12-31T23:00:00Z", "2024-01-01T00:00:00Z")
    lo, hi = resolve_range("-1h", "+1h", NOW)  # both bare: both from now
    assert (iso(lo), iso(hi)) == ("2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z")


def test_recorded_with_a_bare_relative_end_reads_the_hour_after_start(client: TestClient) -> None:
    found = items(client, f"streams/{SIN}/recorded", startTime=format_us(T0), endTime="+1h")
    assert (
        stamps(found)[0] == "2024-01-01T00:00:00Z" and stamps(found)[-1] == "2024-01-01T01:00:00Z"
    )
    assert len(found) == 61


def test_time_zone_reads_times_without_a_zone() -> None:
    brussels = time_zone("Europe/Brussels")
    assert iso(resolve_time("t", NOW, brussels)) == "2026-01-04T23:00:00Z"
    assert iso(resolve_time("2026-07-01 12:00:00", NOW, brussels)) == "2026-07-01T10:00:00Z"
    assert iso(resolve_time("2026-07-01T12:00:00Z", NOW, brussels)) == "2026-07-01T12:00:00Z"
    with pytest.raises(TimeZoneError):
        time_zone("Mars/Olympus_Mons")


def test_time_zone_over_http(client: TestClient) -> None:
    found = items(
        client,
        f"streams/{SIN}/recorded",
        startTime="2024-01-01 01:00",
        endTime="+2m",
        timeZone="Europe/Brussels",
    )
    assert stamps(found) == ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"]
    r = client.get(f"/piwebapi/streams/{SIN}/recorded", params={"timeZone": "Nowhere/Land"})
    assert r.status_code == 400
    assert r.json() == {"Errors": ["The time zone 'Nowhere/Land' is not valid. (timeZone)"]}


def test_windows_time_zone_names_are_accepted_as_by_a_real_server() -> None:
    # a real PI Web API runs on .NET on Windows: timeZone takes Windows zone ids
    eastern = time_zone("Eastern Standard Time")
    assert iso(resolve_time("2026-07-01 12:00:00", NOW, eastern)) == "2026-07-01T16:00:00Z"  # EDT
    assert iso(resolve_time("2026-01-05 12:00:00", NOW, eastern)) == "2026-01-05T17:00:00Z"  # EST
    berlin = time_zone("w. europe standard time")  # any case, as .NET finds it
    assert iso(resolve_time("2026-07-01 12:00:00", NOW, berlin)) == "2026-07-01T10:00:00Z"
    london = time_zone("GMT Standard Time")  # Windows' name for London: not UTC in summer
    assert iso(resolve_time("2026-07-01 12:00:00", NOW, london)) == "2026-07-01T11:00:00Z"
    assert iso(resolve_time("2026-07-01 12:00:00", NOW, time_zone("UTC"))) == "2026-07-01T12:00:00Z"
    with pytest.raises(TimeZoneError):
        time_zone("Atlantis Standard Time")


def test_windows_time_zone_names_over_http(client: TestClient) -> None:
    found = items(
        client,
        f"streams/{SIN}/recorded",
        startTime="2024-01-01 01:00",
        endTime="+2m",
        timeZone="Romance Standard Time",  # Paris/Brussels: UTC+1 in January
    )
    assert stamps(found) == ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"]
    r = client.get(
        f"/piwebapi/streams/{SIN}/summary",
        params={
            "startTime": "t",
            "endTime": "+1h",
            "timeZone": "Tokyo Standard Time",
            "summaryType": "Count",
        },
    )
    assert r.status_code == 200, r.text
    [count] = r.json()["Items"]
    assert count["Value"]["Timestamp"].endswith("T15:00:00Z")  # midnight in Tokyo
    bad = client.get(f"/piwebapi/streams/{SIN}/recorded", params={"timeZone": "Mars Standard Time"})
    assert bad.status_code == 400
    assert bad.json() == {"Errors": ["The time zone 'Mars Standard Time' is not valid. (timeZone)"]}


# --- 2. Recorded: boundaryType, filterExpression, desiredUnits -----------------------------------


def test_boundary_types_inside_outside_interpolated(client: TestClient) -> None:
    # regular data: one event a minute on the minute; the window 00:00:30 .. 00:03:30
    window = {"startTime": "2024-01-01T00:00:30Z", "endTime": "2024-01-01T00:03:30Z"}
    url = f"streams/{SIN}/recorded"
    inside = items(client, url, **window)
    assert stamps(inside) == [f"2024-01-01T00:0{m}:00Z" for m in (1, 2, 3)]
    outside = items(client, url, boundaryType="Outside", **window)
    assert stamps(outside) == [f"2024-01-01T00:0{m}:00Z" for m in (0, 1, 2, 3, 4)]
    interpolated = items(client, url, boundaryType="interpolated", **window)
    assert stamps(interpolated) == [
        "2024-01-01T00:00:30Z",
        "2024-01-01T00:01:00Z",
        "2024-01-01T00:02:00Z",
        "2024-01-01T00:03:00Z",
        "2024-01-01T00:03:30Z",
    ]
    v0, v1 = outside[0]["Value"], outside[1]["Value"]
    assert interpolated[0]["Value"] == pytest.approx((v0 + v1) / 2)
    assert interpolated[1:4] == inside


def test_outside_and_interpolated_in_descending_order(client: TestClient) -> None:
    window = {"startTime": "2024-01-01T00:03:30Z", "endTime": "2024-01-01T00:00:30Z"}
    found = items(client, f"streams/{SIN}/recorded", boundaryType="Outside", **window)
    assert stamps(found) == [f"2024-01-01T00:0{m}:00Z" for m in (4, 3, 2, 1, 0)]


def test_outside_with_events_exactly_on_the_edges(client: TestClient) -> None:
    # AVEVA (Boundary Type): Outside returns "the recorded values on the outside of the requested
    # time range as the first and last values". An event exactly at startTime or endTime is in
    # the range (Inside returns it), so it is returned and the nearest event outside is added.
    url = f"streams/{SIN}/recorded"
    edges = {"startTime": "2024-01-01T00:01:00Z", "endTime": "2024-01-01T00:03:00Z"}
    assert stamps(items(client, url, **edges)) == [f"2024-01-01T00:0{m}:00Z" for m in (1, 2, 3)]
    outside = items(client, url, boundaryType="Outside", **edges)
    assert stamps(outside) == [f"2024-01-01T00:0{m}:00Z" for m in (0, 1, 2, 3, 4)]
    reverse = {"startTime": edges["endTime"], "endTime": edges["startTime"]}
    found = items(client, url, boundaryType="Outside", **reverse)
    assert stamps(found) == [f"2024-01-01T00:0{m}:00Z" for m in (4, 3, 2, 1, 0)]
    # no event before the first one: nothing is added at that end
    first = {"startTime": "1970-01-01T00:00:00Z", "endTime": "1970-01-01T00:01:30Z"}
    found = items(client, url, boundaryType="Outside", **first)
    assert stamps(found) == ["1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z", "1970-01-01T00:02:00Z"]
    # no event after the last time PI can hold: nothing is added at that end
    last = {"startTime": "9999-12-31T23:58:30Z", "endTime": "9999-12-31T23:59:59.9999999Z"}
    found = items(client, url, boundaryType="Outside", **last)
    assert stamps(found) == ["9999-12-31T23:58:00Z", "9999-12-31T23:59:00Z"]


def test_an_invalid_boundary_type_is_400(client: TestClient) -> None:
    r = client.get(f"/piwebapi/streams/{SIN}/recorded", params={"boundaryType": "Sideways"})
    assert r.status_code == 400
    assert r.json() == {"Errors": ["The value 'Sideways' is not valid for boundaryType."]}


def test_filter_expression_is_refused_clearly(client: TestClient) -> None:
    r = client.get(f"/piwebapi/streams/{SIN}/recorded", params={"filterExpression": "'.'>50"})
    assert r.status_code == 409
    assert r.json() == {"Errors": ["filterExpression is not supported by the emulator."]}


def test_desired_units_on_a_pi_point_is_refused(client: TestClient) -> None:
    r = client.get(f"/piwebapi/streams/{CDT}/recorded", params={"desiredUnits": "degF"})
    assert r.status_code == 409
    assert "PI points have no unit of measure" in r.json()["Errors"][0]


# --- 3. Every advertised link works (SummaryData included) ----------------------------------------


def crawl(client: TestClient) -> dict[str, int]:
    """GET every link reachable from /piwebapi/ (the first items of each collection)."""
    seen: dict[str, int] = {}
    todo = ["http://testserver/piwebapi/"]
    while todo and len(seen) < 400:
        url = todo.pop()
        if url in seen:
            continue
        r = client.get(url)
        seen[url] = r.status_code
        if r.status_code == 200:
            todo.extend(u for u in links(r.json()) if u not in seen)
    return seen


def links(body: Any) -> list[str]:
    out: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "Links" and isinstance(value, dict):
                out.extend(v for v in value.values() if isinstance(v, str))
            else:
                out.extend(links(value))
    elif isinstance(body, list):
        for item in body[:4]:
            out.extend(links(item))
    return out


def test_every_advertised_link_answers_200() -> None:
    with make(clock=NOW, points=[{"name": ODD, "like": "CDM158"}]) as client:
        seen = crawl(client)
    failing = {url: status for url, status in seen.items() if status != 200}
    assert failing == {}
    kinds = {url.split("/")[-1] for url in seen}
    for kind in ("value", "end", "interpolated", "plot", "recorded", "attributes", "values",
                 "summary"):  # fmt: skip
        assert kind in kinds, kind
    assert any("/enumerationsets" in url for url in seen)


def test_value_end_and_recorded_at_time(client: TestClient) -> None:
    # clock at T0 = 2024-01-01T00:00:00Z; regular data on the minute
    assert client.get(f"/piwebapi/streams/{SIN}/end").json()["Timestamp"] == format_us(T0)
    snapshot = client.get(f"/piwebapi/streams/{SIN}/value").json()
    assert snapshot["Timestamp"] == format_us(T0)
    at = client.get(f"/piwebapi/streams/{SIN}/value", params={"time": "2023-12-31T23:00:30Z"})
    assert at.json()["Timestamp"] == "2023-12-31T23:00:30Z"
    url = f"/piwebapi/streams/{SIN}/recordedattime"
    expected = {
        "Auto": "2023-12-31T23:00:00Z",
        "Before": "2023-12-31T23:00:00Z",
        "AtOrAfter": "2023-12-31T23:01:00Z",
        "After": "2023-12-31T23:01:00Z",
    }
    for mode, stamp in expected.items():
        body = client.get(url, params={"time": "2023-12-31T23:00:30Z", "retrievalMode": mode})
        assert body.json()["Timestamp"] == stamp, mode
    exact = client.get(url, params={"time": "2023-12-31T23:00:30Z", "retrievalMode": "Exact"})
    assert exact.json()["Value"] == {"Name": "No Data", "Value": 248, "IsSystem": True}
    assert client.get(url).status_code == 400  # time is required


def test_interpolated_interpolatedattimes_and_plot(client: TestClient) -> None:
    found = items(
        client,
        f"streams/{SIN}/interpolated",
        startTime="2023-12-31T22:00:00Z",
        endTime="+1h",
        interval="15m",
    )
    assert stamps(found) == [f"2023-12-31T22:{m:02d}:00Z" for m in (0, 15, 30, 45)] + [
        "2023-12-31T23:00:00Z"
    ]
    digital = items(
        client,
        f"streams/{CDM}/interpolatedattimes",
        time=["2023-12-31T22:00:30Z", "2023-12-31T22:00:00Z"],
    )
    assert stamps(digital) == ["2023-12-31T22:00:00Z", "2023-12-31T22:00:30Z"]
    assert digital[0]["Value"] == digital[1]["Value"]  # a step point holds its value
    plot = items(
        client, f"streams/{CDT}/plot", startTime="2023-12-31T00:00:00Z", endTime="+1d", intervals=10
    )
    assert plot[0]["Timestamp"] == "2023-12-31T00:00:00Z"
    assert plot[-1]["Timestamp"] == "2024-01-01T00:00:00Z"
    assert 20 <= len(plot) <= 10 * 5 + 2


def test_streamset_forms_of_the_stream_reads(client: TestClient) -> None:
    web_ids = [("webId", SIN), ("webId", CDM)]
    for form in ("value", "end", "recordedattime"):
        extra = [("time", "2023-12-31T23:00:00Z")] if form == "recordedattime" else []
        r = client.get(f"/piwebapi/streamsets/{form}", params=web_ids + extra)
        assert r.status_code == 200, (form, r.text)
        assert [i["Name"] for i in r.json()["Items"]] == ["SINUSOID", "CDM158"]
        assert all("Timestamp" in i["Value"] for i in r.json()["Items"])
    times = [("startTime", "2023-12-31T22:00:00Z"), ("endTime", "+1h")]
    for form in ("interpolated", "plot"):
        r = client.get(f"/piwebapi/streamsets/{form}", params=web_ids + times)
        assert r.status_code == 200, (form, r.text)
        assert all(len(i["Items"]) >= 2 for i in r.json()["Items"])
    r = client.get(
        "/piwebapi/streamsets/interpolatedattimes",
        params=[*web_ids, ("time", "2023-12-31T22:00:00Z")],
    )
    assert [len(i["Items"]) for i in r.json()["Items"]] == [1, 1]


def test_point_attributes_and_enumeration_sets(client: TestClient) -> None:
    attributes = items(client, f"points/{CDT}/attributes")
    by_name = {a["Name"]: a["Value"] for a in attributes}
    assert by_name["tag"] == "CDT158" and by_name["engunits"] == "deg C"
    assert by_name["pointtype"] == "Float32"
    one = client.get(f"/piwebapi/points/{CDT}/attributes/descriptor").json()
    assert one["Value"] == "Light Naphtha End Point"
    server = client.get("/piwebapi/dataservers", params={"name": "NAIA-PI"}).json()
    sets = items(client, f"dataservers/{server['WebId']}/enumerationsets")
    names = [s["Name"] for s in sets]
    assert "Modes" in names and "SYSTEM" in names
    modes = next(s for s in sets if s["Name"] == "Modes")
    states = client.get(modes["Links"]["Values"]).json()["Items"]
    assert [(s["Name"], s["Value"]) for s in states][:2] == [("Manual", 0), ("Auto", 1)]


# --- 4. 7 fractional digits -----------------------------------------------------------------------


def test_timestamps_carry_seven_digits_when_the_data_has_them() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    with make(sim, points=[{"name": "FINE.1", "like": "CDT158", "hundred_ns": True}]) as client:
        fine = items(
            client,
            f"streams/{path_web_id('FINE.1')}/recorded",
            startTime=format_us(T0),
            endTime="+1d",
            maxCount=5000,
        )
        coarse = items(
            client, f"streams/{CDT}/recorded", startTime=format_us(T0), endTime="+1d", maxCount=5000
        )
    assert 0 <= len(coarse) - len(fine) <= 1  # an event exactly at the end is past it at 100 ns
    coarse = coarse[: len(fine)]
    for a, b in zip(fine, coarse, strict=True):
        whole = b["Timestamp"][:-1] + ("" if "." in b["Timestamp"] else ".")
        assert a["Timestamp"].startswith(whole.ljust(27, "0")[: len(whole)])
        fraction = a["Timestamp"][20:-1]
        assert len(fraction) == 7, a["Timestamp"]
        assert a["Value"] == b["Value"]
    same_us = [
        i for i in range(1, len(fine)) if coarse[i]["Timestamp"] == coarse[i - 1]["Timestamp"]
    ]
    assert same_us  # same-microsecond events differ at 100 ns, in time order
    assert all(fine[i]["Timestamp"] > fine[i - 1]["Timestamp"] for i in same_us)


def test_a_seven_digit_start_time_is_honoured() -> None:
    with make(points=[{"name": "FINE.1", "like": "SINUSOID", "hundred_ns": True}]) as client:
        url = f"streams/{path_web_id('FINE.1')}/recorded"
        first = items(client, url, startTime=format_us(T0), endTime="+3m")[0]["Timestamp"]
        later = items(client, url, startTime=first[:-2] + "9Z", endTime="+3m")
    assert first not in stamps(later)


# --- 5. Tag names with any character PI allows --------------------------------------------------


def test_extra_points_with_any_characters_are_found_and_served() -> None:
    with make(points=[{"name": ODD, "like": "CDT158"}]) as client:
        point = client.get("/piwebapi/points", params={"path": f"\\\\naia-pi\\{ODD.lower()}"})
        assert point.status_code == 200, point.text
        assert point.json()["Name"] == ODD  # the name as the catalogue holds it
        assert point.json()["Path"] == f"\\\\NAIA-PI\\{ODD}"
        web_id = point.json()["WebId"]
        for key in (web_id, path_web_id(ODD), path_web_id(ODD.lower())):
            found = items(client, f"streams/{key}/recorded", startTime=format_us(T0), endTime="+1h")
            assert len(found) == 61
        server = point.json()["Links"]["DataServer"].split("/")[-1]
        listed = items(client, f"dataservers/{server}/points", nameFilter="Unit 1*")
        assert [p["Name"] for p in listed] == [ODD]


def test_extra_points_come_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    escaped = ODD.replace("\\", "\\\\").replace('"', '\\"')
    lines = ['server_name = "PISRV"', "[[points]]", f'name = "{escaped}"', 'like = "CDM158"']
    config.write_text("\n".join([*lines, "hundred_ns = true", ""]), encoding="utf-8")
    settings = load_emulator_settings(config)
    assert settings.server_name == "PISRV"
    assert [(p.name, p.like, p.hundred_ns) for p in settings.points] == [(ODD, "CDM158", True)]


def test_extra_point_names_are_checked() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        EmulatorSettings.model_validate({"points": [{"name": "A b"}, {"name": "a B"}]})
    with pytest.raises(ValueError, match="defined twice"):
        EmulatorSettings.model_validate({"points": [{"name": "sinusoid"}]})
    with pytest.raises(ValueError, match="not a Simulator point"):
        EmulatorSettings.model_validate({"points": [{"name": "X", "like": "NOPE"}]})


# --- 6. Error shapes and codes --------------------------------------------------------------------


def test_an_unknown_point_in_a_streamset_fails_only_its_item(client: TestClient) -> None:
    params = [
        ("webId", SIN),
        ("webId", NOPE),
        ("webId", "garbage"),
        ("startTime", format_us(T0)),
        ("endTime", "+1h"),
    ]
    r = client.get("/piwebapi/streamsets/recorded", params=params)
    assert r.status_code == 200
    good, unknown, bad = r.json()["Items"]
    assert len(good["Items"]) == 61
    assert unknown["WebId"] == NOPE and unknown["Items"] == []
    assert unknown["WebException"] == {
        "StatusCode": 404,
        "Errors": [f"PI Point not found for WebID '{NOPE}'."],
    }
    assert bad["WebException"] == {
        "StatusCode": 400,
        "Errors": ["Unknown or invalid WebID format: 'garbage'."],
    }


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        (
            f"streams/{SIN}/recorded",
            {"startTime": "soon"},
            400,
            "Cannot parse time string 'soon'. (startTime)",
        ),
        (
            f"streams/{SIN}/recorded",
            {"startTime": "soon+1h"},
            400,
            "Cannot parse time string 'soon+1h'. (startTime)",
        ),
        (
            f"streams/{SIN}/recorded",
            {"endTime": "*+1q"},
            400,
            "Cannot parse time string '*+1q'. (endTime)",
        ),
        ("streams/garbage/recorded", {}, 400, "Unknown or invalid WebID format: 'garbage'."),
        (f"streams/{NOPE}/value", {}, 404, f"PI Point not found for WebID '{NOPE}'."),
        (
            f"streams/{SIN}/recorded",
            {"maxCount": "many"},
            400,
            "The value 'many' is not valid for maxCount.",
        ),
        (
            f"streams/{SIN}/interpolated",
            {"interval": "sometimes"},
            400,
            "The value 'sometimes' is not valid for interval.",
        ),
        (
            f"streams/{SIN}/recordedattime",
            {"time": "*", "retrievalMode": "Closest"},
            400,
            "The value 'Closest' is not valid for retrievalMode.",
        ),
    ],
)
def test_error_shapes(
    client: TestClient, path: str, params: dict[str, str], status: int, error: str
) -> None:
    r = client.get(f"/piwebapi/{path}", params=params)
    assert (r.status_code, r.json()) == (status, {"Errors": [error]})


def test_the_same_data_whatever_the_range_form(client: TestClient) -> None:
    """Absolute, .NET and relative spellings of one range read the same events."""
    forms = [
        {"startTime": "2024-01-01T00:00:00Z", "endTime": "2024-01-01T01:00:00Z"},
        {"startTime": "01-Jan-2024", "endTime": "+1h"},
        {"startTime": "-1h", "endTime": "1/1/2024 1:00"},
    ]
    bodies = [items(client, f"streams/{SIN}/recorded", **f) for f in forms]
    assert bodies[0] == bodies[1] == bodies[2]
    expected = [
        format_us(int(t))
        for ev in SimulatorSource(REGULAR).events("SINUSOID", T0, T0 + HOUR + 1)
        for t in ev.ts_us.tolist()
    ]
    assert stamps(bodies[0]) == expected


def test_datetime_helper_is_utc() -> None:
    assert from_ticks(0) == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("point", ["CDT158", "CDM158", "SINUSOID"])
def test_many_interpolation_times_read_once_equal_one_by_one(point: str) -> None:
    import numpy as np

    from naia.emulator import values
    from naia.emulator.context import Emulator

    emu = Emulator(EmulatorSettings(simulator=SimulatorSettings(defaults=REALISTIC)))
    found = emu.catalog.by_name(point)
    assert found is not None
    times = [T0 * 10 + k * 70_000_000 + k % 10 for k in range(200)]
    one_by_one = values.join([values.interpolated(emu, found, t) for t in times])
    at_once = values.interpolated_at(emu, found, times)
    assert at_once.ticks.tolist() == one_by_one.ticks.tolist() == times
    assert np.array_equal(at_once.events.state_index, one_by_one.events.state_index)
    assert np.array_equal(
        np.nan_to_num(at_once.events.value), np.nan_to_num(one_by_one.events.value)
    )

"""Recorded reads: Inside boundaries, maxCount truncation and limit, order, fields, streamsets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, StreamsetLimit, create_app
from naia.emulator.app import EmulatorApp
from naia.emulator.render import format_us
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC

T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HOUR = 3_600_000_000
DAY = 24 * HOUR
REGULAR = SimulatorSettings(defaults=PointOptions())
SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"  # \\NAIA-PI\SINUSOID by path
CDT = "P1DPTkFJQS1QSVxDRFQxNTg"  # \\NAIA-PI\CDT158
CDM = "P1DPTkFJQS1QSVxDRE0xNTg"  # \\NAIA-PI\CDM158


def make(simulator: SimulatorSettings = REGULAR, **kw: Any) -> TestClient:
    app = create_app(EmulatorSettings(simulator=simulator, **kw), clock=lambda: T0)
    return TestClient(app)


@pytest.fixture
def regular() -> Iterator[TestClient]:
    with make() as client:
        yield client


def expected(point: str, lo: int, hi: int, simulator: SimulatorSettings = REGULAR) -> list[Any]:
    """(timestamp text, value or state name, good) of the Simulator's events in [lo, hi]."""
    out: list[Any] = []
    for ev in SimulatorSource(simulator).events(point, lo, hi + 1):
        for ts, value, state, good in zip(
            ev.ts_us.tolist(),
            ev.value.tolist(),
            ev.state_index.tolist(),
            ev.good.tolist(),
            strict=True,
        ):
            out.append((format_us(ts), value if state < 0 else ev.state_names[state], good))
    return out


def got(items: list[dict[str, Any]]) -> list[Any]:
    return [
        (
            i["Timestamp"],
            i["Value"] if not isinstance(i["Value"], dict) else i["Value"]["Name"],
            i["Good"],
        )
        for i in items
    ]


def recorded(client: TestClient, web_id: str, **params: Any) -> Any:
    r = client.get(f"/piwebapi/streams/{web_id}/recorded", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_inside_includes_values_at_both_ends(regular: TestClient) -> None:
    body = recorded(regular, SIN, startTime=format_us(T0), endTime=format_us(T0 + HOUR))
    assert list(body) == ["Links", "Items", "UnitsAbbreviation"]
    items = body["Items"]
    assert len(items) == 61
    assert items[0]["Timestamp"] == "2024-01-01T00:00:00Z"
    assert items[-1]["Timestamp"] == "2024-01-01T01:00:00Z"
    assert got(items) == expected("SINUSOID", T0, T0 + HOUR)


def test_default_max_count_truncates_silently_at_1000(regular: TestClient) -> None:
    body = recorded(regular, SIN, startTime=format_us(T0), endTime=format_us(T0 + 2 * DAY))
    assert len(body["Items"]) == 1000
    assert list(body) == ["Links", "Items", "UnitsAbbreviation"]  # no flag, no continuation
    assert got(body["Items"]) == expected("SINUSOID", T0, T0 + 2 * DAY)[:1000]


def test_max_count_above_the_server_limit_is_400() -> None:
    with make(max_returned_items_per_call=500) as client:
        ok = recorded(
            client, SIN, startTime=format_us(T0), endTime=format_us(T0 + DAY), maxCount=500
        )
        assert len(ok["Items"]) == 500
        r = client.get(f"/piwebapi/streams/{SIN}/recorded", params={"maxCount": 501})
        assert r.status_code == 400
        (message,) = r.json()["Errors"]
        assert "501 is greater than the maximum allowed (500)" in message


def test_default_limit_is_150000(regular: TestClient) -> None:
    r = regular.get(f"/piwebapi/streams/{SIN}/recorded", params={"maxCount": 150_001})
    assert r.status_code == 400
    assert "maximum allowed (150000)" in r.json()["Errors"][0]
    r = regular.get(f"/piwebapi/streams/{SIN}/recorded", params={"maxCount": 0})
    assert r.status_code == 400


def test_end_before_start_is_descending_newest_first(regular: TestClient) -> None:
    start, end = format_us(T0 + 2 * DAY), format_us(T0)
    body = recorded(regular, SIN, startTime=start, endTime=end, maxCount=100)
    everything = expected("SINUSOID", T0, T0 + 2 * DAY)
    assert got(body["Items"]) == everything[::-1][:100]
    assert body["Items"][0]["Timestamp"] == "2024-01-03T00:00:00Z"


def test_relative_times_default_to_the_last_day(regular: TestClient) -> None:
    body = recorded(regular, SIN, maxCount=5000)
    assert got(body["Items"]) == expected("SINUSOID", T0 - DAY, T0)
    body = recorded(regular, SIN, startTime="*-2h", endTime="*-1h")
    assert got(body["Items"]) == expected("SINUSOID", T0 - 2 * HOUR, T0 - HOUR)


def test_selected_fields_trim_the_payload(regular: TestClient) -> None:
    params = {"startTime": format_us(T0), "endTime": format_us(T0 + HOUR)}
    body = recorded(regular, SIN, selectedFields="Items.Timestamp;Items.Value", **params)
    assert list(body) == ["Items"]
    assert all(list(i) == ["Timestamp", "Value"] for i in body["Items"])
    body = recorded(regular, SIN, selectedFields="Items.Good;UnitsAbbreviation", **params)
    assert list(body) == ["Items", "UnitsAbbreviation"]
    assert body["Items"][0] == {"Good": True}


def test_realistic_data_carries_duplicates_states_and_fractions() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    with make(simulator=sim) as client:
        lo, hi = T0, T0 + 7 * DAY
        body = recorded(
            client, CDT, startTime=format_us(lo), endTime=format_us(hi), maxCount=20_000
        )
    items = body["Items"]
    assert got(items) == expected("CDT158", lo, hi, sim)
    stamps = [i["Timestamp"] for i in items]
    assert len(set(stamps)) < len(stamps)
    assert any(not i["Good"] and i["Value"]["IsSystem"] for i in items)
    assert body["UnitsAbbreviation"] == "deg C"


def test_digital_values_are_state_objects(regular: TestClient) -> None:
    body = recorded(regular, CDM, startTime=format_us(T0), endTime=format_us(T0 + HOUR))
    value = body["Items"][0]["Value"]
    assert set(value) == {"Name", "Value", "IsSystem"}
    assert value["Name"] in ("Manual", "Auto", "Cascade", "Program", "Prog-Auto")
    assert value["IsSystem"] is False


def test_count_based_paging_reassembles_the_whole_range() -> None:
    sim = SimulatorSettings(defaults=PointOptions(same_timestamp_rate=0.3, irregular=True))
    with make(simulator=sim) as client:
        lo, hi, page = T0, T0 + DAY, 97
        whole = expected("CDT158", lo, hi, sim)
        taken: list[Any] = []
        start = format_us(lo)
        while True:
            items = got(
                recorded(client, CDT, startTime=start, endTime=format_us(hi), maxCount=page)[
                    "Items"
                ]
            )
            skip = sum(1 for t in taken if t[0] == items[0][0]) if taken else 0
            taken.extend(items[skip:])
            if len(items) < page:
                break
            start = items[-1][0]
    assert taken == whole


def test_pages_are_cached_and_identical(regular: TestClient) -> None:
    app = regular.app
    assert isinstance(app, EmulatorApp)
    params = {"startTime": format_us(T0), "endTime": format_us(T0 + DAY)}
    first = regular.get(f"/piwebapi/streams/{SIN}/recorded", params=params).content
    hits = app.emulator.cache.hits
    second = regular.get(f"/piwebapi/streams/{SIN}/recorded", params=params).content
    assert first == second
    assert app.emulator.cache.hits == hits + 1


def test_unsupported_options_answer_409(regular: TestClient) -> None:
    url = f"/piwebapi/streams/{SIN}/recorded"
    assert regular.get(url, params={"filterExpression": "'.'>50"}).status_code == 409
    assert regular.get(url, params={"boundaryType": "Outside"}).status_code == 200
    assert regular.get(url, params={"boundaryType": "Between"}).status_code == 400
    r = regular.get(url, params={"startTime": "not a time"})
    assert r.status_code == 400 and "not a time" in r.json()["Errors"][0]


def test_unknown_point_webid_is_404(regular: TestClient) -> None:
    r = regular.get("/piwebapi/streams/P1DPTkFJQS1QSVxOT1BF/recorded")  # NAIA-PI\NOPE
    assert r.status_code == 404


def streamset(client: TestClient, web_ids: list[str], **params: Any) -> Any:
    query = [("webId", w) for w in web_ids] + list(params.items())
    r = client.get("/piwebapi/streamsets/recorded", params=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_streamset_items_per_stream(regular: TestClient) -> None:
    lo, hi = T0, T0 + HOUR
    body = streamset(regular, [CDT, SIN, CDM], startTime=format_us(lo), endTime=format_us(hi))
    streams = body["Items"]
    assert [s["Name"] for s in streams] == ["CDT158", "SINUSOID", "CDM158"]
    for stream, name in zip(streams, ["CDT158", "SINUSOID", "CDM158"], strict=True):
        assert list(stream) == ["WebId", "Name", "Path", "Links", "Items", "UnitsAbbreviation"]
        assert stream["Path"] == f"\\\\NAIA-PI\\{name}"
        assert stream["WebId"].startswith("F1DP")
        assert got(stream["Items"]) == expected(name, lo, hi)
    assert streams[0]["UnitsAbbreviation"] == "deg C"


def test_streamset_selected_fields_and_sort(regular: TestClient) -> None:
    body = streamset(
        regular,
        [SIN, CDT],
        startTime=format_us(T0),
        endTime=format_us(T0 + HOUR),
        selectedFields="Items.Name;Items.Items.Timestamp;Items.Items.Value",
        sortField="Name",
    )
    assert [list(s) for s in body["Items"]] == [["Name", "Items"], ["Name", "Items"]]
    assert [s["Name"] for s in body["Items"]] == ["CDT158", "SINUSOID"]
    assert list(body["Items"][0]["Items"][0]) == ["Timestamp", "Value"]


def test_streamset_max_count_is_per_stream(regular: TestClient) -> None:
    body = streamset(
        regular, [SIN, CDT], startTime=format_us(T0), endTime=format_us(T0 + DAY), maxCount=10
    )
    assert [len(s["Items"]) for s in body["Items"]] == [10, 10]


def test_streamset_limit_per_stream_or_summed() -> None:
    params = [("webId", SIN), ("webId", CDT), ("maxCount", 300)]
    with make(max_returned_items_per_call=500) as client:
        assert client.get("/piwebapi/streamsets/recorded", params=params).status_code == 200
    with make(max_returned_items_per_call=500, streamset_limit=StreamsetLimit.SUMMED) as client:
        r = client.get("/piwebapi/streamsets/recorded", params=params)
        assert r.status_code == 400
        assert "greater than the maximum allowed (500)" in r.json()["Errors"][0]


def test_streamset_errors(regular: TestClient) -> None:
    assert regular.get("/piwebapi/streamsets/recorded").status_code == 400
    r = regular.get("/piwebapi/streamsets/recorded", params=[("webId", SIN), ("webId", "x")])
    assert r.status_code == 200  # the bad WebId fails its own item
    assert r.json()["Items"][1]["WebException"]["StatusCode"] == 400


def test_summary_count_equals_the_simulator() -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    with make(simulator=sim) as client:
        lo, hi = T0, T0 + 3 * DAY
        r = client.get(
            f"/piwebapi/streams/{CDT}/summary",
            params={"summaryType": "Count", "startTime": format_us(lo), "endTime": format_us(hi)},
        )
        assert r.status_code == 200
        (item,) = r.json()["Items"]
        assert item["Type"] == "Count"
        count = sum(len(e) for e in SimulatorSource(sim).events("CDT158", lo, hi))
        assert item["Value"]["Value"] == count > 3_000
        assert item["Value"]["Timestamp"] == "2024-01-01T00:00:00Z"
        bad = client.get(f"/piwebapi/streams/{CDT}/summary", params={"summaryType": "Average"})
        assert bad.status_code == 409


def test_a_single_instant_returns_the_value_at_it(regular: TestClient) -> None:
    at = format_us(T0 + HOUR)
    body = recorded(regular, SIN, startTime=at, endTime=at)
    assert got(body["Items"]) == expected("SINUSOID", T0 + HOUR, T0 + HOUR)
    assert len(body["Items"]) == 1
    between = format_us(T0 + HOUR + 1_000_000)
    assert recorded(regular, SIN, startTime=between, endTime=between)["Items"] == []


def test_streamset_honours_web_id_type(regular: TestClient) -> None:
    body = streamset(regular, [SIN], maxCount=1, webIdType="IDOnly")
    assert body["Items"][0]["WebId"].startswith("I1DP")

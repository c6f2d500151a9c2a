"""POST /batch: plain sub-requests, ParentIds, Parameters, RequestTemplate, JSONPath, 207."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, create_app
from naia.emulator.jsonpath import JsonPathError, select
from naia.emulator.render import format_us
from naia.sources.simulator import PointOptions, SimulatorSettings

T0 = 1_704_067_200_000_000
HOUR = 3_600_000_000
HOST = "https://pi.example.com/piwebapi"  # the authority of a sub-request URL is ignored
WINDOW = f"startTime={format_us(T0)}&endTime={format_us(T0 + HOUR)}"
HEADERS = {"X-Requested-With": "naia-test"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = EmulatorSettings(simulator=SimulatorSettings(defaults=PointOptions()))
    with TestClient(create_app(settings, clock=lambda: T0)) as c:
        yield c


def batch(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/piwebapi/batch", json=body, headers=HEADERS)
    assert r.status_code == 207, r.text
    result: dict[str, Any] = r.json()
    assert list(result) == list(body)
    return result


def test_plain_resources_and_207(client: TestClient) -> None:
    result = batch(
        client,
        {
            "sys": {"Method": "GET", "Resource": f"{HOST}/system"},
            "pt": {"Method": "GET", "Resource": f"{HOST}/points?path=%5C%5CNAIA-PI%5Csinusoid"},
            "gone": {"Method": "GET", "Resource": "/piwebapi/points?path=\\\\NAIA-PI\\GONE"},
        },
    )
    assert result["sys"]["Status"] == 200
    assert result["sys"]["Headers"] == {"Content-Type": "application/json; charset=utf-8"}
    assert result["pt"]["Content"]["Name"] == "SINUSOID"
    assert result["gone"]["Status"] == 404
    assert result["gone"]["Content"] == {"Errors": ["PI Point not found '\\\\NAIA-PI\\GONE'."]}


def test_template_over_parent_items(client: TestClient) -> None:
    result = batch(
        client,
        {
            "points": {
                "Method": "GET",
                "Resource": f"{HOST}/dataservers/P1DSTkFJQS1QSQ/points?nameFilter=SIN*",
            },
            "values": {
                "Method": "GET",
                "ParentIds": ["points"],
                "Parameters": ["$.points.Content.Items[*].WebId"],
                "RequestTemplate": {"Resource": f"{HOST}/streams/{{0}}/recorded?{WINDOW}"},
            },
        },
    )
    outer = result["values"]
    assert outer["Status"] == 207
    assert outer["Content"]["Total"] == 2
    subs = outer["Content"]["Items"]
    assert [s["Status"] for s in subs] == [200, 200]
    assert [len(s["Content"]["Items"]) for s in subs] == [61, 61]
    direct = client.get(
        "/piwebapi/streams/P1DPTkFJQS1QSVxTSU5VU09JRFU/recorded",
        params={"startTime": format_us(T0), "endTime": format_us(T0 + HOUR)},
    ).json()
    assert subs[1]["Content"] == direct


def test_parameters_in_a_plain_resource_and_jsonpath_resource(client: TestClient) -> None:
    result = batch(
        client,
        {
            "pt": {"Resource": f"{HOST}/points?path=\\\\NAIA-PI\\CDT158"},
            "byparam": {
                "Resource": f"{HOST}/streams/{{0}}/recorded?{WINDOW}&maxCount=3",
                "ParentIds": ["pt"],
                "Parameters": ["$.pt.Content.WebId"],
            },
            "bylink": {"Resource": "$.pt.Content.Links.Self", "ParentIds": ["pt"]},
        },
    )
    assert len(result["byparam"]["Content"]["Items"]) == 3
    assert result["bylink"]["Content"]["Name"] == "CDT158"


def test_many_tokens_repeat_a_query_parameter(client: TestClient) -> None:
    result = batch(
        client,
        {
            "pts": {"Resource": f"{HOST}/dataservers/P1DSTkFJQS1QSQ/points?nameFilter=BA:*"},
            "set": {
                "Resource": f"{HOST}/streamsets/recorded?webId={{0}}&{WINDOW}&maxCount=2",
                "ParentIds": ["pts"],
                "Parameters": ["$['pts'].Content.Items[*].WebId"],
            },
        },
    )
    names = [s["Name"] for s in result["set"]["Content"]["Items"]]
    assert names == ["BA:TEMP.1", "BA:LEVEL.1", "BA:CONC.1", "BA:ACTIVE.1", "BA:PHASE.1"]


def test_failed_parent_gives_409_with_a_string(client: TestClient) -> None:
    result = batch(
        client,
        {
            "bad": {"Resource": f"{HOST}/points?path=\\\\NAIA-PI\\NOPE"},
            "child": {"Resource": "$.bad.Content.Links.Self", "ParentIds": ["bad"]},
            "grandchild": {"Resource": f"{HOST}/system", "ParentIds": ["child"]},
        },
    )
    assert result["bad"]["Status"] == 404
    assert result["child"]["Status"] == 409
    assert isinstance(result["child"]["Content"], str)
    assert "bad" in result["child"]["Content"]
    assert result["grandchild"]["Status"] == 409


def test_sub_request_errors_stay_inside_the_batch(client: TestClient) -> None:
    result = batch(
        client,
        {
            "post": {"Method": "POST", "Resource": f"{HOST}/points", "Content": "{}"},
            "elsewhere": {"Resource": "https://example.com/other"},
            "nested": {"Method": "POST", "Resource": f"{HOST}/batch"},
            "badpath": {"Resource": "$.nothing.Content", "ParentIds": []},
        },
    )
    assert result["post"]["Status"] == 405
    assert result["elsewhere"]["Status"] == 400
    assert result["nested"]["Status"] in (400, 405)
    assert result["badpath"]["Status"] == 400


def test_whole_batch_errors(client: TestClient) -> None:
    r = client.post("/piwebapi/batch", content=b"not json", headers=HEADERS)
    assert r.status_code == 400
    r = client.post("/piwebapi/batch", json=[1, 2], headers=HEADERS)
    assert r.status_code == 400
    cycle = {"a": {"Resource": "/piwebapi/system", "ParentIds": ["b"]}, "b": {"ParentIds": ["a"]}}
    assert client.post("/piwebapi/batch", json=cycle, headers=HEADERS).status_code == 400
    unknown = {"a": {"Resource": "/piwebapi/system", "ParentIds": ["zzz"]}}
    assert client.post("/piwebapi/batch", json=unknown, headers=HEADERS).status_code == 400


def test_batch_needs_x_requested_with(client: TestClient) -> None:
    r = client.post("/piwebapi/batch", json={"a": {"Resource": "/piwebapi/system"}})
    assert r.status_code == 403
    assert "X-Requested-With" in r.json()["Errors"][0]


def test_jsonpath_subset() -> None:
    doc = {"a": {"Content": {"Items": [{"WebId": "x"}, {"WebId": "y"}], "n": 1}}}
    assert select(doc, "$.a.Content.Items[*].WebId") == ["x", "y"]
    assert select(doc, "$['a'].Content.Items[-1].WebId") == ["y"]
    assert select(doc, '$["a"].Content.Items[0]') == [{"WebId": "x"}]
    assert select(doc, "$.a.Content.*") == [[{"WebId": "x"}, {"WebId": "y"}], 1]
    assert select(doc, "$.a.Missing") == []
    with pytest.raises(JsonPathError):
        select(doc, "a.b")
    with pytest.raises(JsonPathError):
        select(doc, "$.a[?(@.x)]")

"""Landing, system, data servers and points: shapes, lookups and errors as PI Web API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, create_app
from naia.emulator.webid import decode

T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
BASE = "http://testserver/piwebapi"
SINUSOID_PATH = "\\\\NAIA-PI\\SINUSOID"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(EmulatorSettings(listed_numbered_points=25), clock=lambda: T0)) as c:
        yield c


def test_landing_links(client: TestClient) -> None:
    r = client.get("/piwebapi/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {
        "Links": {
            "Self": f"{BASE}/",
            "AssetServers": f"{BASE}/assetservers",
            "DataServers": f"{BASE}/dataservers",  # no Search: not served
            "System": f"{BASE}/system",
        }
    }


def test_system(client: TestClient) -> None:
    body = client.get("/piwebapi/system").json()
    assert body["ProductTitle"] == "PI Web API 2018 SP1"
    assert body["ProductVersion"] == "1.11.1.5383"
    assert body["Links"]["Self"] == f"{BASE}/system"


def test_data_server_list_name_path_and_webid(client: TestClient) -> None:
    listed = client.get("/piwebapi/dataservers").json()
    assert len(listed["Items"]) == 1
    server = listed["Items"][0]
    assert server["Name"] == "NAIA-PI" and server["Path"] == "\\\\NAIA-PI"
    assert server["IsConnected"] is True and server["ServerTime"] == "2024-01-01T00:00:00Z"
    assert server["WebId"].startswith("F1DS")
    assert decode(server["WebId"]).path == "NAIA-PI"
    assert client.get("/piwebapi/dataservers", params={"name": "naia-pi"}).json() == server
    assert client.get("/piwebapi/dataservers", params={"path": "\\\\NAIA-PI"}).json() == server
    assert client.get(f"/piwebapi/dataservers/{server['WebId']}").json() == server
    assert client.get("/piwebapi/dataservers/P1DSTkFJQS1QSQ").json() == server
    assert client.get("/piwebapi/dataservers", params={"name": "OTHER"}).status_code == 404
    assert client.get("/piwebapi/dataservers/P1DST1RIRVI").status_code == 404  # \\OTHER


def test_points_by_path_full_object(client: TestClient) -> None:
    r = client.get("/piwebapi/points", params={"path": "\\\\naia-pi\\sinusoid"})
    assert r.status_code == 200
    point = r.json()
    web_id = point.pop("WebId")
    links = point.pop("Links")
    assert point == {
        "Id": 1,
        "Name": "SINUSOID",
        "Path": SINUSOID_PATH,
        "Descriptor": "12 Hour Sine Wave",
        "PointClass": "classic",
        "PointType": "Float32",
        "DigitalSetName": "",
        "EngineeringUnits": "",
        "Span": 100.0,
        "Zero": 0.0,
        "Step": False,
        "Future": False,
        "DisplayDigits": -5,
    }
    assert web_id.startswith("F1DP") and decode(web_id).point_id == 1
    assert links["RecordedData"] == f"{BASE}/streams/{web_id}/recorded"
    assert links["Self"] == f"{BASE}/points/{web_id}"


def test_digital_point_fields(client: TestClient) -> None:
    point = client.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\CDM158"}).json()
    assert point["PointType"] == "Digital"
    assert point["DigitalSetName"] == "Modes"
    assert point["Step"] is True
    cdt = client.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\CDT158"}).json()
    assert cdt["EngineeringUnits"] == "deg C"


@pytest.mark.parametrize("kind", ["Full", "IDOnly", "PathOnly"])
def test_points_by_every_webid_form(client: TestClient, kind: str) -> None:
    params = {"path": SINUSOID_PATH, "webIdType": kind}
    web_id = client.get("/piwebapi/points", params=params).json()["WebId"]
    assert web_id[0] == kind[0]
    assert client.get(f"/piwebapi/points/{web_id}").json()["Name"] == "SINUSOID"


def test_client_built_path_webid(client: TestClient) -> None:
    r = client.get("/piwebapi/points/P1DPTkFJQS1QSVxTSU5VU09JRA")  # NAIA-PI\SINUSOID
    assert r.status_code == 200 and r.json()["Name"] == "SINUSOID"


def test_unknown_point_is_404_with_errors(client: TestClient) -> None:
    r = client.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\NOPE"})
    assert r.status_code == 404
    assert r.json() == {"Errors": ["PI Point not found '\\\\NAIA-PI\\NOPE'."]}
    other = client.get("/piwebapi/points", params={"path": "\\\\OTHER\\SINUSOID"})
    assert other.status_code == 404


def test_bad_webid_is_400_with_the_servers_message(client: TestClient) -> None:
    r = client.get("/piwebapi/points/NOTAWEBID")
    assert r.status_code == 400
    assert r.json() == {"Errors": ["Unknown or invalid WebID format: 'NOTAWEBID'."]}
    r = client.get("/piwebapi/streams/P1DS1234/recorded")
    assert r.status_code == 400


def test_server_points_filter_and_paging(client: TestClient) -> None:
    server = client.get("/piwebapi/dataservers").json()["Items"][0]["WebId"]
    url = f"/piwebapi/dataservers/{server}/points"
    names = [p["Name"] for p in client.get(url, params={"nameFilter": "SIN*"}).json()["Items"]]
    assert names == ["SINUSOID", "SINUSOIDU"]
    ba = client.get(url, params={"nameFilter": "ba:*.?"}).json()["Items"]
    assert [p["Name"] for p in ba] == [
        "BA:TEMP.1",
        "BA:LEVEL.1",
        "BA:CONC.1",
        "BA:ACTIVE.1",
        "BA:PHASE.1",
    ]
    everything = [p["Name"] for p in client.get(url).json()["Items"]]
    assert len(everything) == 9 + 25 and everything[-1] == "SIM.25"
    page = client.get(url, params={"nameFilter": "SIM.*", "startIndex": 5, "maxCount": 3}).json()
    assert [p["Name"] for p in page["Items"]] == ["SIM.6", "SIM.7", "SIM.8"]
    trimmed = client.get(url, params={"nameFilter": "CDT*", "selectedFields": "Items.Name"})
    assert trimmed.json() == {"Items": [{"Name": "CDT158"}]}
    assert client.get(url, params={"maxCount": "x"}).status_code == 400


def test_points_multiple_all_found_is_200(client: TestClient) -> None:
    params = [("path", SINUSOID_PATH), ("webId", "P1DPTkFJQS1QSVxDRFQxNTg")]
    r = client.get("/piwebapi/points/multiple", params=params)
    assert r.status_code == 200
    items = r.json()["Items"]
    assert [(i["Identifier"], i["IdentifierType"]) for i in items] == [
        (SINUSOID_PATH, "Path"),
        ("P1DPTkFJQS1QSVxDRFQxNTg", "WebId"),
    ]
    assert [i["Object"]["Name"] for i in items] == ["SINUSOID", "CDT158"]
    assert all(i["Exception"] is None for i in items)


def test_points_multiple_some_failing_is_207(client: TestClient) -> None:
    params = [("path", SINUSOID_PATH), ("path", "\\\\NAIA-PI\\GONE"), ("webId", "BAD")]
    r = client.get("/piwebapi/points/multiple", params=params)
    assert r.status_code == 207
    items = r.json()["Items"]
    assert items[0]["Exception"] is None
    assert items[1]["Object"] is None
    assert items[1]["Exception"] == {"Errors": ["PI Point not found '\\\\NAIA-PI\\GONE'."]}
    assert items[2]["Exception"]["Errors"] == ["Unknown or invalid WebID format: 'BAD'."]
    only_bad = client.get(
        "/piwebapi/points/multiple", params=[*params, ("includeMode", "ItemsWithException")]
    )
    assert [i["Identifier"] for i in only_bad.json()["Items"]] == ["\\\\NAIA-PI\\GONE", "BAD"]


def test_unknown_route_and_method(client: TestClient) -> None:
    assert client.get("/piwebapi/elements").status_code == 404
    r = client.post("/piwebapi/points", headers={"X-Requested-With": "x"})
    assert r.status_code == 405


def test_routes_are_case_insensitive(client: TestClient) -> None:
    r = client.get("/PIWebAPI/Points", params={"PATH": SINUSOID_PATH})
    assert r.status_code == 200 and r.json()["Name"] == "SINUSOID"


def test_a_bug_in_a_handler_answers_500_json(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from naia.emulator import meta

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(meta, "point_object", broken)
    r = client.get("/piwebapi/points", params={"path": SINUSOID_PATH})
    assert r.status_code == 500
    assert r.json() == {"Errors": ["An error has occurred."]}


def test_a_digital_states_override_makes_the_point_digital_in_its_metadata() -> None:
    from naia.sources.simulator import PointOptions, SimulatorSettings

    simulator = SimulatorSettings(points={"SIM.7": PointOptions(digital_states=("Open", "Shut"))})
    settings = EmulatorSettings(simulator=simulator)
    with TestClient(create_app(settings, clock=lambda: T0)) as c:
        point = c.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\SIM.7"}).json()
        plain = c.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\SIM.8"}).json()
    assert (point["PointType"], point["DigitalSetName"], point["Step"]) == (
        "Digital", "SIM.7.States", True
    )  # fmt: skip
    assert (point["Zero"], point["Span"], point["EngineeringUnits"]) == (0.0, 1.0, "")
    assert plain["PointType"] == "Float32" and plain["DigitalSetName"] == ""

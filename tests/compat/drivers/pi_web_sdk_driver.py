"""pi-web-sdk (``pi_web_sdk``), unchanged, against the emulator: ``python pi_web_sdk_driver.py
BASE_URL START END``. Summaries are driven by osipiconnect_driver.py."""

from __future__ import annotations

import sys
from typing import Any

from common import run
from pi_web_sdk import AuthMethod, PIWebAPIClient, PIWebAPIConfig

BASE, START, END = sys.argv[1], sys.argv[2], sys.argv[3]
client = PIWebAPIClient(PIWebAPIConfig(base_url=BASE, auth_method=AuthMethod.ANONYMOUS))
SERVER = "NAIA-PI"


def values(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [[i["Timestamp"], i["Value"], i["Good"]] for i in items]


def server_web_id() -> str:
    """The data server's WebId from the client's list (its get_by_name is broken: below)."""
    servers = client.data_server.list()["Items"]
    return str(next(s["WebId"] for s in servers if s["Name"] == SERVER))


def server_by_name() -> Any:
    """The client's own bug: it asks GET dataservers/name/{name}; PI Web API has
    GET dataservers?name=... only, so a real server answers 404 as well."""
    return client.data_server.get_by_name(SERVER)["Name"]


def web_id(tag: str) -> str:
    """A point's WebId through the client's point search (its get_by_path is broken: below)."""
    found = client.data_server.get_points(server_web_id(), name_filter=tag)["Items"]
    return str(found[0]["WebId"])


def point_by_path() -> Any:
    """The client's own bug: it asks GET points/path/{path}, a route PI Web API does not have
    (the reference has GET points?path=...), so a real server answers 404 as well."""
    return client.point.get_by_path(f"\\\\{SERVER}\\CDT158")["Name"]


def discovery() -> Any:
    home = client.home.get()
    system = client.system.landing()
    servers = client.data_server.list()
    return {
        "links": sorted(home["Links"]),
        "product": system["ProductTitle"],
        "servers": [s["Name"] for s in servers["Items"]],
    }


def point_search() -> Any:
    found = client.data_server.get_points(server_web_id(), name_filter="BA:*", max_count=100)
    point = client.point.get(web_id("CDT158"))
    return {
        "names": [p["Name"] for p in found["Items"]],
        "cdt158": [point["Name"], point["PointType"], point["EngineeringUnits"]],
    }


def recorded_paged() -> Any:
    """Count-based paging by hand with the client's get_recorded (maxCount 500)."""
    wid, start, out = web_id("CDT158"), START, []
    skip = 0
    while True:
        page = client.stream.get_recorded(wid, start_time=start, end_time=END, max_count=500)
        items = page["Items"]
        out.extend(items[skip:])
        if len(items) < 500:
            return values(out)
        last = items[-1]["Timestamp"]
        skip = sum(1 for i in items if i["Timestamp"] == last)
        start = last


def streamset() -> Any:
    ids = [web_id(t) for t in ("SINUSOID", "CDM158")]
    body = client.streamset.get_recorded(ids, start_time=START, end_time=END, max_count=10_000)
    return {s["Name"]: values(s["Items"]) for s in body["Items"]}


def batch() -> Any:
    wid = web_id("SINUSOID")
    body = client.batch.execute(
        {
            "point": {"Method": "GET", "Resource": f"{BASE}/points/{wid}"},
            "data": {
                "Method": "GET",
                "ParentIds": ["point"],
                "Parameters": ["$.point.Content.Links.RecordedData"],
                "Resource": "{0}?startTime=" + START + "&endTime=" + END + "&maxCount=10000",
            },
        }
    )
    return {
        "status": {k: v["Status"] for k, v in body.items()},
        "values": values(body["data"]["Content"]["Items"]),
    }


def value() -> Any:
    wid = web_id("CDT158")
    at = client.stream.get_value(wid, time=START)
    end = client.stream.get_end(wid)
    both = client.streamset.get_values([wid, web_id("CDM158")], time=START)
    return {
        "at": [at["Timestamp"], at["Value"]],
        "end_keys": sorted(end),
        "set": [[s["Name"], s["Value"]["Timestamp"]] for s in both["Items"]],
    }


def interpolated() -> Any:
    body = client.stream.get_interpolated(web_id("SINUSOID"), START, END, interval="6h")
    return [i["Timestamp"] for i in body["Items"]]


run(
    {
        "discovery": discovery,
        "point_search": point_search,
        "point_by_path": point_by_path,
        "server_by_name": server_by_name,
        "recorded_paged": recorded_paged,
        "streamset": streamset,
        "batch": batch,
        "value": value,
        "interpolated": interpolated,
    }
)

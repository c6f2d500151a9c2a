"""osipiconnect (``osisoft.pidevclub.piwebapi``), unchanged, against the emulator with Basic
authentication: ``python osipiconnect_driver.py BASE_URL START END USER PASSWORD``.

Used as its README shows: ``PIWebApiClient(url, useNTLM=False, username, password, verifySsl)``.
"""

from __future__ import annotations

import sys
from typing import Any

from common import run
from osisoft.pidevclub.piwebapi import models
from osisoft.pidevclub.piwebapi.pi_web_api_client import PIWebApiClient
from osisoft.pidevclub.piwebapi.rest import ApiException

BASE, START, END, USER, PASSWORD = sys.argv[1:6]


def connect(password: str = PASSWORD) -> Any:
    return PIWebApiClient(BASE, useNTLM=False, username=USER, password=password, verifySsl=False)


client = connect()


def triples(items: list[Any]) -> list[list[Any]]:
    return [[i.timestamp, i.value, i.good] for i in items or []]


def web_id(tag: str) -> str:
    return str(client.point.get_by_path(f"\\\\NAIA-PI\\{tag}").web_id)


def lookup() -> dict[str, Any]:
    point = client.point.get_by_path("\\\\NAIA-PI\\CDT158")
    info = client.webIdHelper.get_web_id_info(point.web_id)  # the client's own WebID decoder
    return {
        "name": point.name, "point_type": point.point_type, "units": point.engineering_units,
        "path": point.path, "id": point.id, "decoded_id": info.point_id,
        "type_letter": info.web_id_type_letter, "marker": info.marker,
        "summary_link": point.links.summary_data,
    }  # fmt: skip


def recorded(tag: str, max_count: int | None = 10_000) -> dict[str, Any]:
    kwargs = {} if max_count is None else {"max_count": max_count}
    values = client.stream.get_recorded(web_id(tag), start_time=START, end_time=END, **kwargs)
    return {"items": triples(values.items), "units": values.units_abbreviation}


def path_web_id_and_frame() -> dict[str, Any]:
    built = client.webIdHelper.generate_web_id_by_path("\\\\NAIA-PI\\SINUSOID", models.PIPoint)
    frame = client.data.get_recorded_values(
        "pi:\\\\NAIA-PI\\SINUSOID", start_time=START, end_time=END, max_count=5_000
    )
    return {
        "web_id": built, "name": client.point.get(built).name,
        "timestamps": [str(t) for t in frame["Timestamp"]], "values": list(frame["Value"]),
    }  # fmt: skip


def streamset() -> list[dict[str, Any]]:
    ids = [web_id(n) for n in ("SINUSOID", "CDM158", "SIM.7")]
    result = client.streamSet.get_recorded_ad_hoc(ids, start_time=START, end_time=END,
                                                  max_count=10_000)  # fmt: skip
    return [{"name": s.name, "items": triples(s.items)} for s in result.items]


def errors() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        client.point.get_by_path("\\\\NAIA-PI\\NO.SUCH.TAG")
    except ApiException as exc:
        out["unknown"] = {"status": exc.status, "error": exc.error}
    try:
        client.stream.get_recorded("P1DPTkFJQS1QSVxTSU5VU09JRA", max_count=150_001)
    except ApiException as exc:
        out["too_many"] = {"status": exc.status}
    try:
        connect(password="nope").point.get_by_path("\\\\NAIA-PI\\SINUSOID")
    except ApiException as exc:
        out["password"] = {"status": exc.status, "error": exc.error,
                           "authenticate": exc.headers["WWW-Authenticate"]}  # fmt: skip
    return out


def batch() -> dict[str, Any]:
    requests = {
        "points": models.PIRequest(
            method="GET", resource=f"{BASE}/dataservers/P1DSTkFJQS1QSQ/points?nameFilter=BA:*"
        ),
        "values": models.PIRequest(
            method="GET",
            parent_ids=["points"],
            parameters=["$.points.Content.Items[*].WebId"],
            request_template=models.PIRequestTemplate(
                resource=f"{BASE}/streams/{{0}}/recorded?startTime={START}&endTime={END}"
                "&maxCount=10000"
            ),
        ),
    }
    result = client.batch.execute(requests)
    content = result["values"].content
    first = content["Items"][0]["Content"]["Items"]
    return {
        "statuses": [result["points"].status, result["values"].status],
        "total": content["Total"],
        "first": [[i["Timestamp"], i["Value"], i["Good"]] for i in first],
    }


def summary() -> dict[str, Any]:
    """Time-weighted (the default basis) and event-weighted summaries, hourly."""
    out: dict[str, Any] = {}
    for basis in ("TimeWeighted", "EventWeighted"):
        result = client.stream.get_summary(
            web_id("SINUSOID"), start_time=START, end_time=END, summary_duration="6h",
            summary_type=["Average", "Count", "Maximum"], calculation_basis=basis,
        )  # fmt: skip
        out[basis] = [[s.type, s.value.timestamp, s.value.value, s.value.good]
                      for s in result.items]  # fmt: skip
    return out


run({
    "lookup": lookup,
    "recorded": lambda: recorded("CDT158"),
    "digital": lambda: recorded("BA:PHASE.1"),
    "default_max_count": lambda: recorded("SINUSOID", None),
    "path_web_id_and_frame": path_web_id_and_frame,
    "streamset": streamset,
    "errors": errors,
    "batch": batch,
    "summary": summary,
})  # fmt: skip

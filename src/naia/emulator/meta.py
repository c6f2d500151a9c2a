"""Landing, system, data servers and points: small JSON objects built as dicts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from urllib.parse import quote, unquote

from naia.emulator.catalog import EmulatedPoint, wildcard
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Reply
from naia.emulator.render import format_us, json_bytes
from naia.sources.simulator.source import effective_definition


def landing(emu: Emulator, call: Call) -> Reply:
    b = call.base
    links = {
        "Self": f"{b}/",
        "AssetServers": f"{b}/assetservers",
        "DataServers": f"{b}/dataservers",
        "System": f"{b}/system",
    }
    return _selected(call, {"Links": links})


def asset_servers(emu: Emulator, call: Call) -> Reply:
    """No AF server is emulated: an empty collection."""
    return _selected(call, {"Links": {}, "Items": []})


def system(emu: Emulator, call: Call) -> Reply:
    b = f"{call.base}/system"
    links = {"Self": b, "Versions": f"{b}/versions", "Status": f"{b}/status"}
    s = emu.settings
    body = {"Links": links, "ProductTitle": s.product_title, "ProductVersion": s.product_version}
    return _selected(call, body)


def versions(emu: Emulator, call: Call) -> Reply:
    s = emu.settings
    body = {s.product_title: {"FullVersion": s.product_version, "MajorMinorRevision": ""}}
    body[s.product_title]["MajorMinorRevision"] = ".".join(s.product_version.split(".")[:3])
    return _selected(call, body)


def status(emu: Emulator, call: Call) -> Reply:
    return _selected(call, {"UpTimeInMinutes": 0.0, "State": "Running", "CacheInstances": 0})


def data_servers(emu: Emulator, call: Call) -> Reply:
    name, path = call.query.get("name"), call.query.get("path")
    if name is not None:
        if not emu.catalog.is_server(name):
            raise ApiError(404, f"PI Data Archive '{name}' not found.")
        return _selected(call, _server(emu, call))
    if path is not None:
        if not path.startswith("\\\\") or not emu.catalog.is_server(path[2:]):
            raise ApiError(404, f"PI Data Archive not found at path '{path}'.")
        return _selected(call, _server(emu, call))
    return _selected(call, {"Links": {}, "Items": [_server(emu, call)]})


def data_server(emu: Emulator, call: Call, web_id: str) -> Reply:
    if not emu.is_server_web_id(web_id):
        raise ApiError(404, f"PI Data Archive not found for WebID '{web_id}'.")
    return _selected(call, _server(emu, call))


def server_points(emu: Emulator, call: Call, web_id: str) -> Reply:
    if not emu.is_server_web_id(web_id):
        raise ApiError(404, f"PI Data Archive not found for WebID '{web_id}'.")
    start = call.query.get_int("startIndex", 0)
    count = call.query.get_int("maxCount", 1000)
    if start < 0 or count < 0:
        raise ApiError(400, "startIndex and maxCount must not be negative.")
    matches = emu.catalog.listing(call.query.get("nameFilter") or "*")
    items = []
    for index, point in enumerate(matches):
        if index >= start + count:
            break
        if index >= start:
            items.append(point_object(emu, call, point))
    return _selected(call, {"Links": {}, "Items": items})


def point_by_path(emu: Emulator, call: Call) -> Reply:
    path = call.query.get("path")
    if not path:
        raise ApiError(400, "The path parameter is required.")
    return _selected(call, point_object(emu, call, emu.point_by_path(path)))


def point_by_web_id(emu: Emulator, call: Call, web_id: str) -> Reply:
    return _selected(call, point_object(emu, call, emu.resolve_point(web_id)))


def points_multiple(emu: Emulator, call: Call) -> Reply:
    mode = (call.query.get("includeMode") or "All").strip().lower()
    if mode not in ("all", "itemswithexception", "itemswithoutexception"):
        raise ApiError(400, f"The value '{mode}' is not valid for includeMode.")
    wanted = [("Path", p) for p in call.query.get_all("path")]
    wanted += [("WebId", w) for w in call.query.get_all("webId")]
    if not wanted:
        raise ApiError(400, "Specify at least one path or webId.")
    items = [_item(emu, call, kind, ident) for kind, ident in wanted]
    failed = any(i["Exception"] is not None for i in items)
    if mode == "itemswithexception":
        items = [i for i in items if i["Exception"] is not None]
    elif mode == "itemswithoutexception":
        items = [i for i in items if i["Exception"] is None]
    reply = _selected(call, {"Links": {}, "Items": items})
    return Reply(207 if failed else 200, reply.chunks)


def _item(emu: Emulator, call: Call, kind: str, ident: str) -> dict[str, object]:
    try:
        point = emu.point_by_path(ident) if kind == "Path" else emu.resolve_point(ident)
    except ApiError as exc:
        error = {"Errors": list(exc.errors)}
        return {"Identifier": ident, "IdentifierType": kind, "Object": None, "Exception": error}
    obj = point_object(emu, call, point)
    return {"Identifier": ident, "IdentifierType": kind, "Object": obj, "Exception": None}


def point_object(emu: Emulator, call: Call, point: EmulatedPoint) -> dict[str, object]:
    kind = web_id_type(call.query)
    web_id = emu.point_web_id(point, kind)
    d = effective_definition(emu.settings.simulator, point.definition)
    p, s = f"{call.base}/points/{web_id}", f"{call.base}/streams/{web_id}"
    links = {
        "Self": p,
        "DataServer": f"{call.base}/dataservers/{emu.server_web_id(kind)}",
        "Attributes": f"{p}/attributes",
        "InterpolatedData": f"{s}/interpolated",
        "RecordedData": f"{s}/recorded",
        "PlotData": f"{s}/plot",
        "Value": f"{s}/value",
        "EndValue": f"{s}/end",
        "SummaryData": f"{s}/summary",
    }
    zero, span = (0.0, float(len(d.states) - 1)) if d.is_digital else (d.low, d.high - d.low)
    return {
        "WebId": web_id,
        "Id": point.id,
        "Name": d.name,
        "Path": point.path,
        "Descriptor": d.descriptor,
        "PointClass": "classic",
        "PointType": d.point_type,
        "DigitalSetName": d.digital_set or "",
        "EngineeringUnits": d.units,
        "Span": float(span),
        "Zero": float(zero),
        "Step": d.is_digital,
        "Future": False,
        "DisplayDigits": -5,
        "Links": links,
    }


def point_attributes(emu: Emulator, call: Call, web_id: str) -> Reply:
    """``/points/{webId}/attributes``: the point's attributes; ``name`` (repeatable) and
    ``nameFilter`` (wildcards) narrow them."""
    point = emu.resolve_point(web_id)
    items = _attributes(emu, call, point, web_id)
    names = {n.lower() for n in call.query.get_all("name")}
    if names:
        items = [i for i in items if str(i["Name"]).lower() in names]
    pattern = wildcard(call.query.get("nameFilter") or "*")
    items = [i for i in items if pattern.match(str(i["Name"]))]
    return _selected(call, {"Links": {}, "Items": items})


def point_attribute(emu: Emulator, call: Call, arg: str) -> Reply:
    web_id, _, name = arg.partition("/attributes/")
    point = emu.resolve_point(web_id)
    for item in _attributes(emu, call, point, web_id):
        if str(item["Name"]).lower() == unquote(name).lower():
            return _selected(call, item)
    raise ApiError(404, f"Point attribute '{unquote(name)}' not found.")


def _attributes(
    emu: Emulator, call: Call, point: EmulatedPoint, web_id: str
) -> list[dict[str, object]]:
    d = effective_definition(emu.settings.simulator, point.definition)
    zero, span = (0.0, float(len(d.states) - 1)) if d.is_digital else (d.low, d.high - d.low)
    values: dict[str, object] = {
        "tag": d.name,
        "descriptor": d.descriptor,
        "exdesc": "",
        "engunits": d.units,
        "pointtype": d.point_type,
        "pointsource": "R",
        "pointid": point.id,
        "ptclassname": "classic",
        "digitalset": d.digital_set or "",
        "zero": float(zero),
        "span": float(span),
        "step": int(d.is_digital),
        "future": 0,
        "archiving": 1,
        "compressing": 1,
        "displaydigits": -5,
    }
    base = f"{call.base}/points/{web_id}"
    return [
        {
            "Name": name,
            "Value": value,
            "Links": {"Self": f"{base}/attributes/{quote(name)}", "Point": base},
        }
        for name, value in values.items()
    ]


def enumeration_sets(emu: Emulator, call: Call, web_id: str) -> Reply:
    """``/dataservers/{webId}/enumerationsets``: the digital state sets and SYSTEM."""
    if not emu.is_server_web_id(web_id):
        raise ApiError(404, f"PI Data Archive not found for WebID '{web_id}'.")
    items = [_enumeration_set(emu, call, name) for name in emu.enumeration_sets()]
    return _selected(call, {"Links": {}, "Items": items})


def enumeration_set(emu: Emulator, call: Call, web_id: str) -> Reply:
    return _selected(call, _enumeration_set(emu, call, emu.resolve_enumeration_set(web_id)))


def enumeration_values(emu: Emulator, call: Call, web_id: str) -> Reply:
    name = emu.resolve_enumeration_set(web_id)
    set_path = f"{emu.catalog.server_path}\\{name}"
    items = [
        {"Name": state, "Value": code, "Description": "", "Path": f"{set_path}\\{state}"}
        for state, code in emu.enumeration_sets()[name]
    ]
    return _selected(call, {"Links": {}, "Items": items})


def _enumeration_set(emu: Emulator, call: Call, name: str) -> dict[str, object]:
    web_id = emu.enumeration_set_web_id(name)
    self_link = f"{call.base}/enumerationsets/{web_id}"
    return {
        "WebId": web_id,
        "Id": str(uuid.uuid5(emu.catalog.server_guid, name.upper())),
        "Name": name,
        "Description": "",
        "Path": f"{emu.catalog.server_path}\\{name}",
        "Links": {"Self": self_link, "Values": f"{self_link}/values"},
    }


def _server(emu: Emulator, call: Call) -> dict[str, object]:
    web_id = emu.server_web_id(web_id_type(call.query))
    self_link = f"{call.base}/dataservers/{web_id}"
    c = emu.catalog
    return {
        "WebId": web_id,
        "Id": str(c.server_guid),
        "Name": c.server_name,
        "Path": c.server_path,
        "IsConnected": True,
        "ServerVersion": emu.settings.server_version,
        "ServerTime": _server_time(emu),
        "Links": {
            "Self": self_link,
            "Points": f"{self_link}/points",
            "EnumerationSets": f"{self_link}/enumerationsets",
        },
    }


def _server_time(emu: Emulator) -> str:
    return format_us(emu.clock())


def _selected(call: Call, body: Mapping[str, object]) -> Reply:
    selection = Selection.parse(call.query.get("selectedFields"))
    return Reply(200, (json_bytes(selection.apply(body)),))

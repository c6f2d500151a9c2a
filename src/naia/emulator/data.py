"""Recorded values of one stream or a streamset, and the Count summary.

Semantics as PI Web API: startTime ``*-1d`` and endTime ``*`` by default, boundaryType Inside
(values at both ends included), maxCount 1000 by default with silent truncation, a maxCount above
MaxReturnedItemsPerCall rejected with 400, endTime before startTime gives descending order.
The items array of each (point, range, maxCount, order, fields) is cached as rendered bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.pitime import PiTimeError, parse_pi_time
from naia.emulator.render import TIMED_VALUE_FIELDS, format_us, json_bytes, timed_values
from naia.emulator.settings import StreamsetLimit
from naia.emulator.webid import WebIdType

DEFAULT_MAX_COUNT = 1000
MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


@dataclass(frozen=True, slots=True)
class Range:
    lo_us: int
    hi_us: int
    descending: bool
    max_count: int


def recorded(emu: Emulator, call: Call, web_id: str) -> Reply:
    point = emu.resolve_point(web_id)
    rng = _range(emu, call.query)
    _check_limit(emu, rng.max_count, 1)
    selection = Selection.parse(call.query.get("selectedFields"))
    units = point.definition.units
    if call.web_exception:
        return _json(_stream_exception(emu, {"Links": {}, "UnitsAbbreviation": units}))
    pairs: list[tuple[str, Any]] = [("Links", {})]
    pairs.append(("Items", _Raw(_items(emu, point, rng, selection.child("Items")))))
    pairs.append(("UnitsAbbreviation", units))
    return Reply(200, list(_object(pairs, selection)))


def streamset(emu: Emulator, call: Call) -> Reply:
    web_ids = call.query.get_all("webId")
    if not web_ids:
        raise ApiError(400, "The webId parameter is required.")
    points = [emu.resolve_point(w) for w in web_ids]
    rng = _range(emu, call.query)
    _check_limit(emu, rng.max_count, len(points))
    points = _sorted(points, call.query)
    selection = Selection.parse(call.query.get("selectedFields"))
    # everything that can fail is checked now: the streams render while the reply is sent
    reader = _StreamRead(emu, call.base, rng, web_id_type(call.query), selection.child("Items"))
    failed = call.fault_index % len(points) if call.web_exception else -1

    def streams() -> Iterator[bytes]:
        yield b"["
        for index, point in enumerate(points):
            yield b"," if index else b""
            yield from reader.stream(point, index == failed)
        yield b"]"

    pairs: list[tuple[str, Any]] = [("Links", {}), ("Items", _Raw(streams()))]
    return Reply(200, (), stream=_object(pairs, selection))


def summary(emu: Emulator, call: Call, web_id: str) -> Reply:
    point = emu.resolve_point(web_id)
    kinds = call.query.get_all("summaryType") or ["Total"]
    unsupported = [k for k in kinds if k.strip().lower() != "count"]
    if unsupported:
        raise ApiError(409, f"summaryType '{unsupported[0]}' is not supported by the emulator.")
    if call.query.get("filterExpression"):
        raise ApiError(409, "filterExpression is not supported by the emulator.")
    start = _time(emu, call.query, "startTime", "*-1d")
    end = _time(emu, call.query, "endTime", "*")
    lo, hi = max(0, min(start, end)), min(MAX_US, max(start, end))
    count = emu.reader.count(point.name, lo, hi)
    value = {
        "Timestamp": format_us(lo),
        "Value": count,
        "UnitsAbbreviation": "",
        "Good": True,
        "Questionable": False,
        "Substituted": False,
        "Annotated": False,
    }
    body = {"Links": {}, "Items": [{"Type": "Count", "Value": value}]}
    return _json(Selection.parse(call.query.get("selectedFields")).apply(body))


@dataclass(frozen=True, slots=True)
class _StreamRead:
    """One streamset read: renders each stream's StreamValues object."""

    emu: Emulator
    base: str
    rng: Range
    kind: WebIdType
    selection: Selection | None  # inside the outer Items; None: streams not selected

    def stream(self, point: EmulatedPoint, failed: bool) -> Iterator[bytes]:
        web_id = self.emu.point_web_id(point, self.kind)
        head: list[tuple[str, Any]] = [
            ("WebId", web_id),
            ("Name", point.name),
            ("Path", point.path),
            ("Links", {"Source": f"{self.base}/points/{web_id}"}),
        ]
        units = point.definition.units
        if failed:
            body = dict([*head, ("UnitsAbbreviation", units)])
            return iter([json_bytes(_stream_exception(self.emu, body))])
        if self.selection is None:
            return iter(())
        items = _Raw(_items(self.emu, point, self.rng, self.selection.child("Items")))
        return _object([*head, ("Items", items), ("UnitsAbbreviation", units)], self.selection)


def _items(
    emu: Emulator, point: EmulatedPoint, rng: Range, selection: Selection | None
) -> list[bytes]:
    fields = TIMED_VALUE_FIELDS if selection is None else selection.leaves(TIMED_VALUE_FIELDS)
    key = (point.name, rng, fields)
    cached = emu.cache.get(key)
    if cached is None:
        events = emu.reader.read(point.name, rng.lo_us, rng.hi_us, rng.max_count, rng.descending)
        cached = timed_values(events, point.definition.units, fields)
        emu.cache.put(key, cached)
    return [cached]


def _stream_exception(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    message = f"PI Data Archive '{emu.catalog.server_name}' did not answer (emulated fault)."
    return {**body, "Items": [], "WebException": {"StatusCode": 502, "Errors": [message]}}


class _Raw:
    """Already-rendered JSON chunks to place as a value (rendered when iterated)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks


def _object(pairs: list[tuple[str, Any]], selection: Selection) -> Iterator[bytes]:
    """A JSON object as chunks, keeping only the selected keys; raw values are not copied."""
    first = True
    for name, value in pairs:
        sub = selection.child(name)
        if sub is None:
            continue
        key = (b'{"' if first else b',"') + name.encode() + b'":'
        first = False
        if isinstance(value, _Raw):
            yield key
            yield from value.chunks
        else:
            yield key + json_bytes(sub.apply(value))
    yield b"{}" if first else b"}"


def _json(body: dict[str, Any]) -> Reply:
    return Reply(200, (json_bytes(body),))


def _range(emu: Emulator, query: Query) -> Range:
    boundary = (query.get("boundaryType") or "Inside").strip()
    if boundary.lower() != "inside":
        raise ApiError(409, f"boundaryType '{boundary}' is not supported by the emulator.")
    if query.get("filterExpression"):
        raise ApiError(409, "filterExpression is not supported by the emulator.")
    start = _time(emu, query, "startTime", "*-1d")
    end = _time(emu, query, "endTime", "*")
    max_count = query.get_int("maxCount", DEFAULT_MAX_COUNT)
    if max_count <= 0:
        raise ApiError(400, f"The value '{max_count}' is not valid for maxCount.")
    lo, hi = max(0, min(start, end)), min(MAX_US, max(start, end))
    return Range(lo, hi, end < start, max_count)


def _time(emu: Emulator, query: Query, name: str, default: str) -> int:
    text = query.get(name) or default
    try:
        return parse_pi_time(text, emu.clock())
    except PiTimeError as exc:
        raise ApiError(400, f"{exc} ({name})") from None


def _check_limit(emu: Emulator, max_count: int, streams: int) -> None:
    limit = emu.settings.max_returned_items_per_call
    summed = emu.settings.streamset_limit is StreamsetLimit.SUMMED
    total = max_count * streams if summed else max_count
    if total > limit:
        what = f"maxCount {max_count}"
        if summed and streams > 1:
            what += f" × {streams} streams"
        raise ApiError(
            400,
            f"The requested {what} is greater than the maximum allowed ({limit}) "
            "set by MaxReturnedItemsPerCall.",
        )


def _sorted(points: list[EmulatedPoint], query: Query) -> list[EmulatedPoint]:
    field = (query.get("sortField") or "").strip().lower()
    if not field:
        return points
    if field != "name":
        raise ApiError(400, f"The value '{field}' is not valid for sortField.")
    descending = (query.get("sortOrder") or "Ascending").strip().lower() == "descending"
    return sorted(points, key=lambda p: p.name, reverse=descending)

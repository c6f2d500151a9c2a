"""Stream data: recorded values of one stream or a streamset (summaries: :mod:`summary`).

Semantics as PI Web API: startTime ``*-1d`` and endTime ``*`` by default, ``boundaryType``
Inside (values at both ends included), Outside (plus the nearest value before the start and
after the end) or Interpolated (interpolated values at both ends), maxCount 1000 by default with
silent truncation, a maxCount above MaxReturnedItemsPerCall rejected with 400, endTime before
startTime gives descending order. Times are 100-ns ticks (see :mod:`pitime`).
The items array of each (point, range, maxCount, order, boundary, fields) is cached as bytes.

The other stream reads a point's Links lead to (value, end, interpolated, recordedattime, plot…)
are in :mod:`streams`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import tzinfo

from naia.emulator import values as vals
from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.pitime import (
    PiTimeError,
    TimeZoneError,
    parse_pi_time,
    resolve_range,
    time_zone,
)
from naia.emulator.render import TIMED_VALUE_FIELDS, json_bytes, timed_values
from naia.emulator.settings import StreamsetLimit
from naia.emulator.webid import WebIdType

DEFAULT_MAX_COUNT = 1000
MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
BOUNDARY_TYPES = ("Inside", "Outside", "Interpolated")


@dataclass(frozen=True, slots=True)
class Range:
    lo: int  # ticks (100 ns)
    hi: int
    descending: bool
    max_count: int
    boundary: str = "Inside"


def recorded(emu: Emulator, call: Call, web_id: str) -> Reply:
    point = emu.resolve_point(web_id)
    rng = _range(emu, call.query)
    _check_limit(emu, rng.max_count, 1)
    selection = Selection.parse(call.query.get("selectedFields"))
    units = point.definition.units
    if call.web_exception:
        return _json(_stream_exception(emu, {"Links": {}, "UnitsAbbreviation": units}))
    pairs: list[tuple[str, object]] = [("Links", {})]
    pairs.append(("Items", _Raw(_items(emu, point, rng, selection.child("Items")))))
    pairs.append(("UnitsAbbreviation", units))
    return Reply(200, list(_object(pairs, selection)))


def streamset(emu: Emulator, call: Call) -> Reply:
    targets = resolve_streams(emu, call.query)
    rng = _range(emu, call.query)
    _check_limit(emu, rng.max_count, len(targets))
    targets = sort_streams(targets, call.query)
    selection = Selection.parse(call.query.get("selectedFields"))
    # everything that can fail is checked now: the streams render while the reply is sent
    reader = _StreamRead(emu, call.base, rng, web_id_type(call.query), selection.child("Items"))
    failed = call.fault_index % len(targets) if call.web_exception else -1

    def streams() -> Iterator[bytes]:
        yield b"["
        for index, target in enumerate(targets):
            yield b"," if index else b""
            yield from reader.stream(target, index == failed)
        yield b"]"

    pairs: list[tuple[str, object]] = [("Links", {}), ("Items", _Raw(streams()))]
    return Reply(200, (), stream=_object(pairs, selection))


Target = tuple[str, EmulatedPoint | ApiError]  # (the WebId as requested, point or failure)


def resolve_streams(emu: Emulator, query: Query) -> list[Target]:
    """The streams of a streamset request; a WebId that fails is reported in its own item."""
    web_ids = query.get_all("webId")
    if not web_ids:
        raise ApiError(400, "The webId parameter is required.")
    out: list[Target] = []
    for web_id in web_ids:
        try:
            out.append((web_id, emu.resolve_point(web_id)))
        except ApiError as exc:
            out.append((web_id, exc))
    return out


def sort_streams(targets: list[Target], query: Query) -> list[Target]:
    field = (query.get("sortField") or "").strip().lower()
    if not field:
        return targets
    if field != "name":
        raise ApiError(400, f"The value '{field}' is not valid for sortField.")
    descending = (query.get("sortOrder") or "Ascending").strip().lower() == "descending"

    def key(target: Target) -> str:
        return target[1].name if isinstance(target[1], EmulatedPoint) else ""

    return sorted(targets, key=key, reverse=descending)


def stream_head(
    emu: Emulator, base: str, point: EmulatedPoint, kind: WebIdType
) -> list[tuple[str, object]]:
    web_id = emu.point_web_id(point, kind)
    return [
        ("WebId", web_id),
        ("Name", point.name),
        ("Path", point.path),
        ("Links", {"Source": f"{base}/points/{web_id}"}),
    ]


def failed_stream(web_id: str, error: ApiError, body: str = "Items") -> dict[str, object]:
    """A streamset item whose stream could not be read: the failure in its WebException."""
    content: list[object] | None = [] if body == "Items" else None
    return {
        "WebId": web_id,
        "Links": {},
        body: content,
        "WebException": {"StatusCode": error.status, "Errors": list(error.errors)},
    }


@dataclass(frozen=True, slots=True)
class _StreamRead:
    """One streamset read: renders each stream's StreamValues object."""

    emu: Emulator
    base: str
    rng: Range
    kind: WebIdType
    selection: Selection | None  # inside the outer Items; None: streams not selected

    def stream(self, target: Target, failed: bool) -> Iterator[bytes]:
        web_id, point = target
        if isinstance(point, ApiError):
            return iter([json_bytes(_selected(self.selection, failed_stream(web_id, point)))])
        head = stream_head(self.emu, self.base, point, self.kind)
        units = point.definition.units
        if failed:
            body = dict([*head, ("UnitsAbbreviation", units)])
            return iter([json_bytes(_stream_exception(self.emu, body))])
        if self.selection is None:
            return iter(())
        items = _Raw(_items(self.emu, point, self.rng, self.selection.child("Items")))
        return _object([*head, ("Items", items), ("UnitsAbbreviation", units)], self.selection)


def _selected(selection: Selection | None, body: dict[str, object]) -> object:
    return body if selection is None else selection.apply(body)


def _items(
    emu: Emulator, point: EmulatedPoint, rng: Range, selection: Selection | None
) -> list[bytes]:
    fields = TIMED_VALUE_FIELDS if selection is None else selection.leaves(TIMED_VALUE_FIELDS)
    key = (point.name, rng, fields)
    cached = emu.cache.get(key)
    if cached is None:
        found = recorded_values(emu, point, rng)
        sub = found.sub if bool(found.sub.any()) else None
        cached = timed_values(found.events, point.definition.units, fields, sub)
        emu.cache.put(key, cached)
    return [cached]


def recorded_values(emu: Emulator, point: EmulatedPoint, rng: Range) -> vals.Values:
    """The recorded values of ``rng`` with its boundary type, in the range's order."""
    if rng.boundary == "Inside":
        return vals.read(emu, point, rng.lo, rng.hi, rng.max_count, rng.descending)
    if rng.boundary == "Outside":
        first, last = vals.before(emu, point, rng.lo), vals.after(emu, point, rng.hi)
        middle = vals.read(emu, point, rng.lo, rng.hi, rng.max_count, rng.descending)
    else:
        first = vals.interpolated(emu, point, rng.lo)
        last = vals.interpolated(emu, point, rng.hi) if rng.hi > rng.lo else vals.empty()
        middle = vals.read(emu, point, rng.lo + 1, rng.hi - 1, rng.max_count, rng.descending)
    if rng.descending:
        first, last = last, first
    return vals.join([first, middle, last]).take(slice(0, rng.max_count))


def _stream_exception(emu: Emulator, body: dict[str, object]) -> dict[str, object]:
    message = f"PI Data Archive '{emu.catalog.server_name}' did not answer (emulated fault)."
    return {**body, "Items": [], "WebException": {"StatusCode": 502, "Errors": [message]}}


class _Raw:
    """Already-rendered JSON chunks to place as a value (rendered when iterated)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks


def _object(pairs: list[tuple[str, object]], selection: Selection) -> Iterator[bytes]:
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


def _json(body: object) -> Reply:
    return Reply(200, (json_bytes(body),))


def boundary_type(query: Query) -> str:
    text = (query.get("boundaryType") or "Inside").strip()
    for name in BOUNDARY_TYPES:
        if name.lower() == text.lower():
            return name
    raise ApiError(400, f"The value '{text}' is not valid for boundaryType.")


def refuse_unsupported(query: Query) -> None:
    """filterExpression is refused plainly; desiredUnits cannot be given for a PI point."""
    if (query.get("filterExpression") or "").strip():
        raise ApiError(409, "filterExpression is not supported by the emulator.")
    units = (query.get("desiredUnits") or "").strip()
    if units:
        raise ApiError(
            409,
            f"The desired units '{units}' cannot be applied: PI points have no unit of "
            "measure, so desiredUnits may not be specified for a PI point.",
        )


def zone_of(query: Query) -> tzinfo:
    try:
        return time_zone(query.get("timeZone"))
    except TimeZoneError as exc:
        raise ApiError(400, f"{exc} (timeZone)") from None


def time_range(emu: Emulator, query: Query) -> tuple[int, int]:
    """(start, end) ticks of startTime/endTime (defaults ``*-1d`` and ``*``)."""
    zone = zone_of(query)
    start, end = query.get("startTime") or "*-1d", query.get("endTime") or "*"
    try:
        lo, hi = resolve_range(start, end, emu.clock(), zone)
    except PiTimeError as exc:
        name = "startTime" if exc.text.strip() == start.strip() else "endTime"
        raise ApiError(400, f"{exc} ({name})") from None
    return lo, hi


def _range(emu: Emulator, query: Query) -> Range:
    boundary = boundary_type(query)
    refuse_unsupported(query)
    start, end = time_range(emu, query)
    max_count = query.get_int("maxCount", DEFAULT_MAX_COUNT)
    if max_count <= 0:
        raise ApiError(400, f"The value '{max_count}' is not valid for maxCount.")
    lo, hi = max(0, min(start, end)), min(vals.MAX_TICKS, max(start, end))
    return Range(lo, hi, end < start, max_count, boundary)


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

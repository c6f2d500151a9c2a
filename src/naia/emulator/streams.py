"""The stream reads a point's Links lead to, besides recorded: value, end, recordedattime,
interpolated, interpolatedattimes and plot, for one stream and as ad-hoc streamsets.

As PI Web API (Stream / StreamSet controllers): ``value`` without ``time`` is the snapshot (the
last event at or before now), with ``time`` the value at that time (interpolated, or the step
value); ``end`` is the last recorded event; ``recordedattime`` picks an event by
``retrievalMode`` (Auto = AtOrBefore, AtOrBefore, Before, AtOrAfter, After, Exact);
``interpolated`` samples startTime..endTime every ``interval`` (default 1h);
``interpolatedattimes`` at each ``time``; ``plot`` gives per interval (``intervals``, default
24) the first, last, lowest, highest and one exceptional value. The streamset forms answer
``{"Items":[{WebId, Name, Path, Links, Value | Items, UnitsAbbreviation}]}``; a stream that fails
is reported in its own item's WebException.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from naia.emulator import values as vals
from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.data import (
    failed_stream,
    refuse_unsupported,
    resolve_streams,
    sort_streams,
    stream_head,
    time_range,
    zone_of,
)
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.pitime import PiTimeError, parse, resolve_time
from naia.emulator.render import TIMED_VALUE_FIELDS, format_ticks, json_bytes, timed_values

DEFAULT_INTERVAL = "1h"
DEFAULT_PLOT_INTERVALS = 24
_NO_DATA = {"Name": "No Data", "Value": 248, "IsSystem": True}
_MODES = ("auto", "atorbefore", "before", "atorafter", "after", "exact")

Single = Callable[[Emulator, EmulatedPoint, Query], dict[str, object]]
Many = Callable[[Emulator, EmulatedPoint, Query], list[object]]


# --- what one stream answers ------------------------------------------------------------------


def _value(emu: Emulator, point: EmulatedPoint, query: Query) -> dict[str, object]:
    refuse_unsupported(query)
    text = query.get("time")
    if text is None or not text.strip():
        return _one(point, vals.at_or_before(emu, point, emu.clock() * 10), None)
    t = _at(emu, query, text, "time")
    return _one(point, vals.interpolated(emu, point, t), t)


def _end(emu: Emulator, point: EmulatedPoint, query: Query) -> dict[str, object]:
    refuse_unsupported(query)
    return _one(point, vals.at_or_before(emu, point, emu.clock() * 10), None)


def _recorded_at_time(emu: Emulator, point: EmulatedPoint, query: Query) -> dict[str, object]:
    refuse_unsupported(query)
    text = query.get("time")
    if text is None or not text.strip():
        raise ApiError(400, "The time parameter is required.")
    t = _at(emu, query, text, "time")
    mode = (query.get("retrievalMode") or "Auto").strip().lower()
    if mode not in _MODES:
        given = query.get("retrievalMode")
        raise ApiError(400, f"The value '{given}' is not valid for retrievalMode.")
    pick = {
        "auto": vals.at_or_before,
        "atorbefore": vals.at_or_before,
        "before": vals.before,
        "atorafter": vals.at_or_after,
        "after": vals.after,
        "exact": vals.at_time,
    }[mode]
    return _one(point, pick(emu, point, t), t)


def _interpolated(emu: Emulator, point: EmulatedPoint, query: Query) -> list[object]:
    refuse_unsupported(query)
    if (query.get("syncTime") or "").strip():
        raise ApiError(409, "syncTime is not supported by the emulator.")
    start, end = time_range(emu, query)
    step = interval_ticks(query.get("interval") or DEFAULT_INTERVAL)
    count = abs(end - start) // step + 1
    _check_count(emu, count)
    sign = 1 if end >= start else -1
    times = [start + sign * k * step for k in range(count)]
    return _many(point, vals.interpolated_at(emu, point, times))


def _interpolated_at_times(emu: Emulator, point: EmulatedPoint, query: Query) -> list[object]:
    refuse_unsupported(query)
    texts = query.get_all("time")
    if not texts:
        raise ApiError(400, "The time parameter is required.")
    _check_count(emu, len(texts))
    times = sorted(_at(emu, query, t, "time") for t in texts)
    if (query.get("sortOrder") or "Ascending").strip().lower() == "descending":
        times.reverse()
    return _many(point, vals.interpolated_at(emu, point, times))


def _plot(emu: Emulator, point: EmulatedPoint, query: Query) -> list[object]:
    refuse_unsupported(query)
    start, end = time_range(emu, query)
    intervals = query.get_int("intervals", DEFAULT_PLOT_INTERVALS)
    if intervals <= 0:
        raise ApiError(400, f"The value '{intervals}' is not valid for intervals.")
    lo, hi = min(start, end), max(start, end)
    found = vals.plot(emu, point, lo, hi, intervals)
    _check_count(emu, len(found))
    items = _many(point, found)
    return items if end >= start else items[::-1]


# --- HTTP handlers ----------------------------------------------------------------------------


def _single_handler(compute: Single) -> Callable[[Emulator, Call, str], Reply]:
    def handler(emu: Emulator, call: Call, web_id: str) -> Reply:
        point = emu.resolve_point(web_id)
        return _reply(call, compute(emu, point, call.query))

    return handler


def _many_handler(compute: Many) -> Callable[[Emulator, Call, str], Reply]:
    def handler(emu: Emulator, call: Call, web_id: str) -> Reply:
        point = emu.resolve_point(web_id)
        body = {"Links": {}, "Items": compute(emu, point, call.query)}
        body["UnitsAbbreviation"] = point.definition.units
        return _reply(call, body)

    return handler


def _set_handler(compute: Single | Many, field: str) -> Callable[[Emulator, Call], Reply]:
    """The ad-hoc streamset form: one item per webId; each stream's failure stays in its item."""

    def handler(emu: Emulator, call: Call) -> Reply:
        targets = sort_streams(resolve_streams(emu, call.query), call.query)
        kind = web_id_type(call.query)
        items: list[dict[str, object]] = []
        for web_id, point in targets:
            if isinstance(point, ApiError):
                items.append(failed_stream(web_id, point, field))
                continue
            try:
                content: object = compute(emu, point, call.query)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                items.append(failed_stream(web_id, exc, field))
                continue
            head = dict(stream_head(emu, call.base, point, kind))
            items.append({**head, field: content, "UnitsAbbreviation": point.definition.units})
        return _reply(call, {"Links": {}, "Items": items})

    return handler


value = _single_handler(_value)
end = _single_handler(_end)
recorded_at_time = _single_handler(_recorded_at_time)
interpolated = _many_handler(_interpolated)
interpolated_at_times = _many_handler(_interpolated_at_times)
plot = _many_handler(_plot)
set_value = _set_handler(_value, "Value")
set_end = _set_handler(_end, "Value")
set_recorded_at_time = _set_handler(_recorded_at_time, "Value")
set_interpolated = _set_handler(_interpolated, "Items")
set_interpolated_at_times = _set_handler(_interpolated_at_times, "Items")
set_plot = _set_handler(_plot, "Items")


# --- helpers ----------------------------------------------------------------------------------


def interval_ticks(text: str) -> int:
    """A PI interval (``1h``, ``30m``, ``1.5h``, ``1d``) in ticks; must be > 0, fixed units."""
    try:
        parsed = parse("+" + text.strip().lstrip("+"), 0)
    except PiTimeError:
        raise ApiError(400, f"The value '{text}' is not valid for interval.") from None
    if parsed.base is not None or any(unit in ("mo", "y") for unit, _ in parsed.offsets):
        raise ApiError(400, f"The value '{text}' is not valid for interval.")
    ticks = parsed.resolve(0)
    if ticks <= 0:
        raise ApiError(400, f"The value '{text}' is not valid for interval.")
    return ticks


def _at(emu: Emulator, query: Query, text: str, name: str) -> int:
    try:
        return resolve_time(text, emu.clock(), zone_of(query))
    except PiTimeError as exc:
        raise ApiError(400, f"{exc} ({name})") from None


def _check_count(emu: Emulator, count: int) -> None:
    limit = emu.settings.max_returned_items_per_call
    if count > limit:
        raise ApiError(
            400,
            f"The requested {count} values are greater than the maximum allowed ({limit}) "
            "set by MaxReturnedItemsPerCall.",
        )


def _many(point: EmulatedPoint, found: vals.Values) -> list[object]:
    if not len(found):
        return []
    text = timed_values(found.events, point.definition.units, TIMED_VALUE_FIELDS, found.sub)
    items: list[object] = msgspec.json.decode(text)
    return items


def _one(point: EmulatedPoint, found: vals.Values, t: int | None) -> dict[str, object]:
    if len(found):
        first = _many(point, found.take(slice(0, 1)))[0]
        assert isinstance(first, dict)
        return first
    return {
        "Timestamp": format_ticks(t if t is not None else 0),
        "Value": _NO_DATA,
        "UnitsAbbreviation": point.definition.units,
        "Good": False,
        "Questionable": False,
        "Substituted": False,
        "Annotated": False,
    }


def _reply(call: Call, body: Mapping[str, object]) -> Reply:
    selection = Selection.parse(call.query.get("selectedFields"))
    return Reply(200, (json_bytes(selection.apply(body)),))

"""``GET streams/{webId}/summary`` and ``GET streamsets/summary``: summaries over the Simulator
with PI Web API's documented semantics (the arithmetic is in :mod:`weighting`).

- ``startTime``/``endTime``/``timeZone`` as every other read (bare relative times, zones).
- ``summaryDuration`` cuts [startTime, endTime] into intervals of that length (the last one cut
  at endTime); without it, one interval. endTime before startTime: intervals newest first.
- ``calculationBasis`` (default TimeWeighted). ``TimeWeighted`` interpolates as the point is
  stepped or not (a digital point is stepped), ``TimeWeightedContinuous`` always linearly,
  ``TimeWeightedDiscrete`` always holds the previous value. The event-weighted bases follow
  AVEVA's boundary rules (PI Web API reference, "Calculation Basis"; AF SDK
  ``AFCalculationBasis``): ``EventWeighted`` uses the events at both ends when there is one
  interval and the event at the earlier boundary of each interval when there are several;
  ``EventWeightedExcludeMostRecentEvent`` never uses the later boundary,
  ``EventWeightedExcludeEarliestEvent`` never the earlier one, ``EventWeightedIncludeBothEnds``
  always both.
- ``timeType`` (PI Web API reference, "Time Type"): ``Auto`` (the time of the minimum or
  maximum for those types, else the start of the interval), ``EarliestTime`` (its start),
  ``MostRecentTime`` (its end).
- Summaries are computed over good values only; an interval without one answers the system
  state "Calc Failed" for the types other than Count and PercentGood.
- A non-numeric (digital) stream supports Count and PercentGood ("Count is the only summary type
  supported on non-numeric streams"): any other type fails in its own item (``WebException``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from naia.emulator import values as vals
from naia.emulator import weighting
from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.data import failed_stream, resolve_streams, stream_head, time_range
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.render import format_ticks, json_bytes
from naia.sources.simulator.source import effective_definition

MAX_INTERVALS = 150_000  # a summaryDuration giving more intervals than this: 400
CALC_FAILED = {"Name": "Calc Failed", "Value": 310, "IsSystem": True}
_ALL = ("Total", "Average", "Minimum", "Maximum", "Range", "StdDev", "PopulationStdDev",
        "Count", "PercentGood")  # fmt: skip
_NON_NUMERIC = ("Count", "PercentGood")
_TYPES = {t.lower(): t for t in (*_ALL, "TotalWithUOM")}
_GROUPS = {"all": _ALL, "allfornonnumeric": _NON_NUMERIC}
_EVENT_BASES = {  # basis → (use the event at the earlier bound, at the later bound); None: rule
    "eventweighted": None,
    "eventweightedexcludemostrecentevent": (True, False),
    "eventweightedexcludeearliestevent": (False, True),
    "eventweightedincludebothends": (True, True),
}
_TIME_BASES = {  # basis → interpolate linearly? None: as the point (stepped or not)
    "timeweighted": None,
    "timeweightedcontinuous": True,
    "timeweighteddiscrete": False,
}
_TIME_TYPES = {t.lower(): t for t in ("Auto", "EarliestTime", "MostRecentTime")}
_UNITS = {"ms": 10**4, "s": 10**7, "m": 60 * 10**7, "min": 60 * 10**7, "h": 3_600 * 10**7,
          "d": 86_400 * 10**7, "w": 7 * 86_400 * 10**7}  # fmt: skip
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)")
_ALL_EVENTS = 2**62  # no maxCount: every event of the range


@dataclass(frozen=True, slots=True)
class Plan:
    """What a summary request asks: types, intervals (absolute lo < hi in ticks, in answer
    order), the basis (time-weighted with its interpolation, or event-weighted with the
    boundary events each interval uses) and the time type."""

    types: tuple[str, ...]
    intervals: tuple[tuple[int, int], ...]
    time_weighted: bool
    continuous: bool | None  # time-weighted: None = as the point is stepped or not
    include_lo: bool
    include_hi: bool
    time_type: str
    lo: int
    hi: int


def stream_summary(emu: Emulator, call: Call, web_id: str) -> Reply:
    point = emu.resolve_point(web_id)
    plan = _plan(emu, call.query)
    body = {"Links": {}, "Items": _summaries(emu, point, plan)}
    return Reply(200, (json_bytes(_select(body, call.query)),))


def streamset_summary(emu: Emulator, call: Call) -> Reply:
    targets = resolve_streams(emu, call.query)
    plan = _plan(emu, call.query)
    kind = web_id_type(call.query)
    failed = call.fault_index % len(targets) if call.web_exception else -1
    items = []
    for index, (web_id, point) in enumerate(targets):
        if isinstance(point, ApiError):  # an unknown WebId fails its own item only
            items.append(failed_stream(web_id, point))
            continue
        item: dict[str, object] = dict(stream_head(emu, call.base, point, kind))
        if index == failed:
            server = emu.catalog.server_name
            message = f"PI Data Archive '{server}' did not answer (emulated fault)."
            item.update(Items=[], WebException={"StatusCode": 502, "Errors": [message]})
        else:
            item["Items"] = _summaries(emu, point, plan)
        items.append(item)
    return Reply(200, (json_bytes(_select({"Links": {}, "Items": items}, call.query)),))


def _select(body: Mapping[str, object], query: Query) -> object:
    return Selection.parse(query.get("selectedFields")).apply(body)


# Parameters -----------------------------------------------------------------------------------
def _plan(emu: Emulator, query: Query) -> Plan:
    types = _types(query.get_all("summaryType"))
    basis = (query.get("calculationBasis") or "TimeWeighted").strip()
    time_type = _time_type(query.get("timeType"))
    if (query.get("filterExpression") or "").strip():
        raise ApiError(409, "filterExpression is not supported by the emulator.")
    start, end = time_range(emu, query)
    intervals = _intervals(start, end, _duration(query.get("summaryDuration")))
    lo, hi = max(0, min(start, end)), min(vals.MAX_TICKS, max(start, end))
    key = basis.lower()
    if key in _TIME_BASES:
        return Plan(types, tuple(intervals), True, _TIME_BASES[key], False, False, time_type,
                    lo, hi)  # fmt: skip
    if key not in _EVENT_BASES:
        raise ApiError(400, f"The value '{basis}' is not valid for calculationBasis.")
    # EventWeighted: both ends for one interval, the earlier one for several
    ends = _EVENT_BASES[key] or (True, len(intervals) == 1)
    return Plan(types, tuple(intervals), False, None, ends[0], ends[1], time_type, lo, hi)


def _types(texts: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for text in texts or ["Total"]:
        for part in text.split(","):
            key = part.strip().lower()
            if key in _GROUPS:
                names += _GROUPS[key]
            elif key in _TYPES:
                names.append(_TYPES[key])
            else:
                raise ApiError(400, f"The value '{part.strip()}' is not valid for summaryType.")
    return tuple(dict.fromkeys(names))


def _time_type(text: str | None) -> str:
    key = (text or "Auto").strip().lower()
    if key not in _TIME_TYPES:
        raise ApiError(400, f"The value '{(text or '').strip()}' is not valid for timeType.")
    return _TIME_TYPES[key]


def _duration(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or _DURATION.sub("", cleaned).strip() or any(u not in _UNITS for _, u in parts):
        raise ApiError(400, f"The value '{text}' is not valid for summaryDuration.")
    total = round(sum(float(n) * _UNITS[u] for n, u in parts))
    if total <= 0:
        raise ApiError(400, f"The value '{text}' is not valid for summaryDuration.")
    return total


def _intervals(start: int, end: int, step: int | None) -> list[tuple[int, int]]:
    """Absolute (lo, hi) intervals in answer order: from startTime towards endTime."""
    lo, hi = max(0, min(start, end)), min(vals.MAX_TICKS, max(start, end))
    if step is None or hi - lo <= step:
        return [(lo, hi)]
    if -(-(hi - lo) // step) > MAX_INTERVALS:
        raise ApiError(400, f"The summaryDuration gives more than {MAX_INTERVALS} intervals.")
    if end >= start:
        return [(a, min(a + step, hi)) for a in range(lo, hi, step)]
    return [(max(b - step, lo), b) for b in range(hi, lo, -step)]


# Values ---------------------------------------------------------------------------------------
def _summaries(emu: Emulator, point: EmulatedPoint, plan: Plan) -> list[dict[str, object]]:
    definition = effective_definition(emu.settings.simulator, point.definition)
    digital = definition.is_digital
    refused = {t for t in plan.types if digital and t not in _NON_NUMERIC}
    computed = tuple(t for t in plan.types if t not in refused)
    known = _known(emu, point, plan)
    continuous = (not digital) if plan.continuous is None else plan.continuous
    out: list[dict[str, object]] = []
    for lo, hi in plan.intervals:
        if plan.time_weighted:
            results = weighting.time_weighted(known, lo, hi, continuous, computed)
        else:
            results = weighting.event_weighted(
                known, lo, hi, plan.include_lo, plan.include_hi, computed
            )
        for kind in plan.types:
            if kind in refused:
                out.append(_refused(kind, point.name))
                continue
            value, at = results[kind]
            at = _stamp(plan.time_type, at, lo, hi)
            out.append({"Type": kind, "Value": _timed(value, at, definition.units)})
    return out


def _known(emu: Emulator, point: EmulatedPoint, plan: Plan) -> weighting.Known:
    """The events the summaries need: those of the range, and for a time weighting the last
    one before it and the first one after it (to interpolate at the boundaries)."""
    parts = [vals.read(emu, point, plan.lo, plan.hi, _ALL_EVENTS, descending=False)]
    if plan.time_weighted:
        parts = [vals.before(emu, point, plan.lo), *parts, vals.after(emu, point, plan.hi)]
    found = vals.join(parts)
    events = found.events
    return weighting.Known(found.ticks, events.value, events.good, events.state_index >= 0)


def _stamp(time_type: str, at: int, lo: int, hi: int) -> int:
    if time_type == "EarliestTime":
        return lo
    if time_type == "MostRecentTime":
        return hi
    return at


def _refused(kind: str, name: str) -> dict[str, object]:
    message = f"Summary type '{kind}' is not supported on non-numeric stream '{name}'."
    return {"Type": kind, "Value": None, "WebException": {"StatusCode": 400, "Errors": [message]}}


def _timed(value: object, at: int, units: str) -> dict[str, object]:
    good = value is not None
    return {
        "Timestamp": format_ticks(at), "Value": value if good else CALC_FAILED,
        "UnitsAbbreviation": units if good else "", "Good": good, "Questionable": False,
        "Substituted": False, "Annotated": False,
    }  # fmt: skip

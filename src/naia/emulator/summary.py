"""``GET streams/{webId}/summary`` and ``GET streamsets/summary``: summaries over the Simulator
with PI Web API's documented semantics for the parameters NAIA's verification tunes.

- ``summaryDuration`` cuts [startTime, endTime] into intervals of that length (the last one cut
  at endTime); without it, one interval. endTime before startTime: intervals newest first.
- ``calculationBasis`` (default TimeWeighted). The event-weighted bases follow AVEVA's boundary
  rules (PI Web API reference, "Calculation Basis"; AF SDK ``AFCalculationBasis``):
  ``EventWeighted`` uses the events at both ends when there is one interval and the event at
  the earlier boundary of each interval when there are several;
  ``EventWeightedExcludeMostRecentEvent`` never uses the later boundary,
  ``EventWeightedExcludeEarliestEvent`` never the earlier one, ``EventWeightedIncludeBothEnds``
  always both. Time-weighted bases answer 409 (not emulated).
- Summaries are computed over good events only; ``PercentGood`` is the share of good events
  (event-weighted: by count). Count is the number of good events. Where AVEVA's documentation
  is silent (whether Count includes bad events), this is the emulator's choice: docs/verify.md.
- A non-numeric (digital) stream supports Count (and PercentGood) only: 400 for other types.
- An interval without a good event: Count 0, PercentGood 0, other types a bad value
  (system state "Calc Failed").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator, web_id_type
from naia.emulator.data import failed_stream, resolve_streams, stream_head
from naia.emulator.fields import Selection
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.pitime import PiTimeError, parse_pi_time
from naia.emulator.reader import concat, empty_events
from naia.emulator.render import format_us, json_bytes
from naia.sources.simulator.generate import Events
from naia.sources.simulator.source import SimulatorSource, effective_definition

MAX_US = 253_402_300_799_999_999
MAX_INTERVALS = 150_000  # a summaryDuration giving more intervals than this: 400
CALC_FAILED = {"Name": "Calc Failed", "Value": 310, "IsSystem": True}
_TYPES = {
    t.lower(): t
    for t in (
        "Count",
        "Total",
        "Average",
        "Minimum",
        "Maximum",
        "Range",
        "StdDev",
        "PopulationStdDev",
        "PercentGood",
    )
}
_NON_NUMERIC = {"count", "percentgood"}
_EVENT_BASES = {  # basis → (use the event at the earlier bound, at the later bound); None: rule
    "eventweighted": None,
    "eventweightedexcludemostrecentevent": (True, False),
    "eventweightedexcludeearliestevent": (False, True),
    "eventweightedincludebothends": (True, True),
}
_TIME_BASES = {"timeweighted", "timeweightedcontinuous", "timeweighteddiscrete"}
_UNITS = {"ms": 1_000, "s": 10**6, "m": 60 * 10**6, "min": 60 * 10**6, "h": 3_600 * 10**6,
          "d": 86_400 * 10**6, "w": 7 * 86_400 * 10**6}  # fmt: skip
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)")


@dataclass(frozen=True, slots=True)
class Plan:
    """What a summary request asks: types, intervals (absolute lo < hi, in answer order) and
    which boundary events each interval uses."""

    types: tuple[str, ...]
    intervals: tuple[tuple[int, int], ...]
    include_lo: bool
    include_hi: bool
    lo_us: int
    hi_us: int


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
    if query.get("filterExpression"):
        raise ApiError(409, "filterExpression is not supported by the emulator.")
    start, end = _time(emu, query, "startTime", "*-1d"), _time(emu, query, "endTime", "*")
    intervals = _intervals(start, end, _duration(query.get("summaryDuration")))
    key = basis.lower()
    if key in _TIME_BASES:
        raise ApiError(409, f"calculationBasis '{basis}' is not supported by the emulator.")
    if key not in _EVENT_BASES:
        raise ApiError(400, f"The value '{basis}' is not valid for calculationBasis.")
    # EventWeighted: both ends for one interval, the earlier one for several
    ends = _EVENT_BASES[key] or (True, len(intervals) == 1)
    lo, hi = max(0, min(start, end)), min(MAX_US, max(start, end))
    return Plan(types, tuple(intervals), ends[0], ends[1], lo, hi)


def _types(texts: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for text in texts or ["Total"]:
        for part in text.split(","):
            key = part.strip().lower()
            if key == "all":
                names += [t for t in _TYPES.values() if t not in names]
            elif key in _TYPES:
                names.append(_TYPES[key])
            else:
                raise ApiError(400, f"The value '{part.strip()}' is not valid for summaryType.")
    return tuple(dict.fromkeys(names))


def _time(emu: Emulator, query: Query, name: str, default: str) -> int:
    try:
        return parse_pi_time(query.get(name) or default, emu.clock())
    except PiTimeError as exc:
        raise ApiError(400, f"{exc} ({name})") from None


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
    lo, hi = max(0, min(start, end)), min(MAX_US, max(start, end))
    if step is None or hi - lo <= step:
        return [(lo, hi)]
    if -(-(hi - lo) // step) > MAX_INTERVALS:
        raise ApiError(400, f"The summaryDuration gives more than {MAX_INTERVALS} intervals.")
    if end >= start:
        return [(a, min(a + step, hi)) for a in range(lo, hi, step)]
    return [(max(b - step, lo), b) for b in range(hi, lo, -step)]


# Values ---------------------------------------------------------------------------------------
def _summaries(emu: Emulator, point: EmulatedPoint, plan: Plan) -> list[dict[str, object]]:
    digital = effective_definition(emu.settings.simulator, point.definition).is_digital
    refused = [t for t in plan.types if digital and t.lower() not in _NON_NUMERIC]
    if refused:
        raise ApiError(400, f"Summary type '{refused[0]}' is not supported on non-numeric "
                            f"stream '{point.name}'.")  # fmt: skip
    events = _events(emu, point.data_name, plan.lo_us, plan.hi_us)
    ts = events.ts_us
    out: list[dict[str, object]] = []
    for lo, hi in plan.intervals:
        first = int(np.searchsorted(ts, lo, side="left" if plan.include_lo else "right"))
        stop = int(np.searchsorted(ts, hi, side="right" if plan.include_hi else "left"))
        part = slice(first, max(first, stop))
        good = events.good[part]
        values = events.value[part][good]
        stamps = ts[part][good]
        for kind in plan.types:
            value, at = _one(kind, values, stamps, int(good.size), lo)
            out.append({"Type": kind, "Value": _timed(value, at, point.definition.units)})
    return out


def _events(emu: Emulator, data_name: str, lo: int, hi: int) -> Events:
    source = SimulatorSource(emu.settings.simulator)
    found = concat(source.events(data_name, lo, min(MAX_US, hi) + 1))  # hi itself included
    return empty_events() if found is None else found


def _one(
    kind: str, values: np.ndarray, stamps: np.ndarray, total: int, lo: int
) -> tuple[object, int]:
    n = int(values.size)
    if kind == "Count":
        return n, lo
    if kind == "PercentGood":
        return (100.0 * n / total if total else 0.0), lo
    if n == 0 or (kind == "StdDev" and n < 2):
        return CALC_FAILED, lo
    if kind == "Minimum":
        i = int(np.argmin(values))
        return float(values[i]), int(stamps[i])
    if kind == "Maximum":
        i = int(np.argmax(values))
        return float(values[i]), int(stamps[i])
    results = {
        "Total": lambda: float(values.sum()),
        "Average": lambda: float(values.mean()),
        "Range": lambda: float(values.max() - values.min()),
        "StdDev": lambda: float(values.std(ddof=1)),
        "PopulationStdDev": lambda: float(values.std(ddof=0)),
    }
    return results[kind](), lo


def _timed(value: object, at: int, units: str) -> dict[str, object]:
    good = not isinstance(value, dict)
    return {
        "Timestamp": format_us(at), "Value": value, "UnitsAbbreviation": units if good else "",
        "Good": good, "Questionable": False, "Substituted": False, "Annotated": False,
    }  # fmt: skip

"""Summary arithmetic over one interval: time-weighted and event-weighted, on plain arrays.

Pure functions (no emulator, no HTTP) so that the rules can be checked with hand-made data.
Times are 100-ns ticks. A result value ``None`` means the calculation failed (no good data).

Time-weighted (PI Web API reference, *Calculation Basis*: "Weight the values in the calculation
by the time over which they apply. Interpolation is based on whether the attribute is stepped.
Interpolated events are generated at the boundaries if necessary."):

- the stream is a curve over [lo, hi]: a value at lo and at hi (interpolated there as PI
  interpolates: a stepped stream holds the previous value, a continuous one is linear between
  two numeric events, and a state on either side holds the earlier value), and the events
  strictly inside;
- each segment between two consecutive nodes takes the time it lasts; a segment that starts on
  a bad value (or before the stream's first event) is bad and left out of the time;
- Average = ∫ value dt ÷ good time; Total = Average × (hi − lo) in days (AVEVA: a total is a
  rate integrated per day when the unit of time cannot be determined, and divided by the
  fraction of good time when some data are bad); Count = good time in seconds ("the sum of
  event time duration"); PercentGood = good time ÷ (hi − lo) × 100 ("based on time");
  Minimum/Maximum over the values the curve takes on its good segments (with their time);
  PopulationStdDev = √(∫ (value − Average)² dt ÷ good time), exact on linear segments; StdDev
  the same (a time weighting has no sample size: AVEVA publishes no formula; docs/emulator.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
TICKS_PER_S = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_S
Result = tuple[float | int | None, int]  # (value or None for "Calc Failed", time of the value)


@dataclass(frozen=True, slots=True)
class Known:
    """A stream's events in time order: time, value, good, and whether the value is a state."""

    ticks: I64
    value: F64
    good: Bools
    state: Bools

    @property
    def numeric(self) -> Bools:
        out: Bools = self.good & ~self.state
        return out


@dataclass(frozen=True, slots=True)
class Curve:
    times: I64  # lo, the events strictly inside, hi
    values: F64
    numeric: Bools  # a good numeric value at the node
    good: Bools  # a good value (numeric or state) at the node


def value_at(known: Known, t: int, continuous: bool) -> tuple[float, bool, bool]:
    """(value, good, numeric) of the stream at t, interpolated as PI does."""
    prev = int(np.searchsorted(known.ticks, t, side="right")) - 1
    if prev < 0:
        return math.nan, False, False
    value, good = float(known.value[prev]), bool(known.good[prev])
    numeric = bool(known.numeric[prev])
    nxt = prev + 1
    if int(known.ticks[prev]) == t or not continuous or not numeric or nxt >= known.ticks.size:
        return value, good, numeric
    if not bool(known.numeric[nxt]):
        return value, good, numeric
    t0, t1 = int(known.ticks[prev]), int(known.ticks[nxt])
    return value + (float(known.value[nxt]) - value) * (t - t0) / (t1 - t0), good, numeric


def curve(known: Known, lo: int, hi: int, continuous: bool) -> Curve:
    first = int(np.searchsorted(known.ticks, lo, side="right"))
    stop = max(first, int(np.searchsorted(known.ticks, hi, side="left")))
    start, end = value_at(known, lo, continuous), value_at(known, hi, continuous)
    inside = slice(first, stop)
    return Curve(
        times=np.concatenate([[lo], known.ticks[inside], [hi]]).astype(np.int64),
        values=np.concatenate([[start[0]], known.value[inside], [end[0]]]).astype(np.float64),
        numeric=np.concatenate([[start[2]], known.numeric[inside], [end[2]]]).astype(bool),
        good=np.concatenate([[start[1]], known.good[inside], [end[1]]]).astype(bool),
    )


@dataclass(frozen=True, slots=True)
class _Segments:
    """The good segments of a curve: duration, value at the start and at the end."""

    span: int  # hi - lo
    good_time: int
    durations: F64  # of the good numeric segments
    starts: F64
    ends: F64
    start_times: I64
    end_times: I64

    @classmethod
    def of(cls, c: Curve, continuous: bool) -> _Segments:
        d = np.diff(c.times)
        good = c.good[:-1] & (d > 0)
        numeric = c.numeric[:-1] & (d > 0)
        linear = continuous & c.numeric[:-1] & c.numeric[1:]
        a = c.values[:-1]
        b = np.where(linear, c.values[1:], a)
        return cls(
            span=int(c.times[-1] - c.times[0]),
            good_time=int(d[good].sum()),
            durations=d[numeric].astype(np.float64),
            starts=a[numeric],
            ends=b[numeric],
            start_times=c.times[:-1][numeric],
            end_times=np.where(linear, c.times[1:], c.times[:-1])[numeric],
        )


def time_weighted(
    known: Known, lo: int, hi: int, continuous: bool, types: tuple[str, ...]
) -> dict[str, Result]:
    """The summaries of [lo, hi] weighted by time (see the module's docstring)."""
    seg = _Segments.of(curve(known, lo, hi, continuous), continuous)
    out: dict[str, Result] = {}
    for kind in types:
        out[kind] = _time_weighted_one(kind, seg, lo)
    return out


def _time_weighted_one(kind: str, seg: _Segments, lo: int) -> Result:
    if kind == "Count":
        return seg.good_time / TICKS_PER_S, lo
    if kind == "PercentGood":
        return (100.0 * seg.good_time / seg.span if seg.span else 0.0), lo
    if float(seg.durations.sum()) <= 0:
        return None, lo
    if kind in ("Minimum", "Maximum"):
        return _extreme(seg, kind == "Maximum")
    return _time_weighted_moment(kind, seg), lo


def _time_weighted_moment(kind: str, seg: _Segments) -> float:
    """Average, Total, Range, StdDev, PopulationStdDev of a curve with good time."""
    weight = float(seg.durations.sum())
    mean = float((seg.durations * (seg.starts + seg.ends)).sum() / 2.0) / weight
    if kind == "Average":
        return mean
    if kind in ("Total", "TotalWithUOM"):
        return mean * seg.span / TICKS_PER_DAY
    if kind == "Range":
        low, high = _extreme(seg, False)[0], _extreme(seg, True)[0]
        assert low is not None and high is not None
        return high - low
    a, b = seg.starts - mean, seg.ends - mean
    squares = float((seg.durations * (a * a + a * b + b * b)).sum() / 3.0)
    return math.sqrt(max(0.0, squares / weight))  # StdDev, PopulationStdDev


def _extreme(seg: _Segments, highest: bool) -> Result:
    values = np.concatenate([seg.starts, seg.ends])
    times = np.concatenate([seg.start_times, seg.end_times])
    order = np.argsort(times, kind="stable")  # ties: the earliest time
    values, times = values[order], times[order]
    i = int(np.argmax(values) if highest else np.argmin(values))
    return float(values[i]), int(times[i])


def event_weighted(
    known: Known,
    lo: int,
    hi: int,
    include_lo: bool,
    include_hi: bool,
    types: tuple[str, ...],
) -> dict[str, Result]:
    """The summaries of the good events in the interval, each event weighing the same."""
    first = int(np.searchsorted(known.ticks, lo, side="left" if include_lo else "right"))
    stop = int(np.searchsorted(known.ticks, hi, side="right" if include_hi else "left"))
    part = slice(first, max(first, stop))
    good = known.good[part]
    values = known.value[part][good]
    stamps = known.ticks[part][good]
    return {kind: _event_weighted_one(kind, values, stamps, int(good.size), lo) for kind in types}


def _event_weighted_one(kind: str, values: F64, stamps: I64, total: int, lo: int) -> Result:
    n = int(values.size)
    if kind == "Count":
        return n, lo
    if kind == "PercentGood":
        return (100.0 * n / total if total else 0.0), lo
    if n == 0 or (kind == "StdDev" and n < 2):
        return None, lo
    if kind in ("Minimum", "Maximum"):
        i = int(np.argmax(values) if kind == "Maximum" else np.argmin(values))
        return float(values[i]), int(stamps[i])
    moments = {
        "Total": lambda: float(values.sum()),
        "TotalWithUOM": lambda: float(values.sum()),
        "Average": lambda: float(values.mean()),
        "Range": lambda: float(values.max() - values.min()),
        "StdDev": lambda: float(values.std(ddof=1)),
        "PopulationStdDev": lambda: float(values.std(ddof=0)),
    }
    return moments[kind](), lo

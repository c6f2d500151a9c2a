"""A point's events at PI's 100-ns resolution, and the values computed from them.

The Simulator resolves microseconds. A point with ``hundred_ns`` gets a deterministic 7th
fractional digit (1–9) on every event: events of one microsecond get increasing digits, so they
stay in time order and differ at 100 ns. Times here are 100-ns ticks since the epoch.

Interpolation follows PI: a step point (digital) or a state keeps the value at or before the
time; a numeric point between two numeric events is interpolated linearly in time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from naia.domain.schema import seq_numbers
from naia.emulator.catalog import EmulatedPoint
from naia.emulator.context import Emulator
from naia.emulator.reader import concat, empty_events, take
from naia.sources.simulator.generate import Events

I64 = npt.NDArray[np.int64]
TICKS_PER_US = 10
MAX_TICKS = 253_402_300_799_999_999 * TICKS_PER_US  # 9999-12-31T23:59:59.9999999Z
_MARGIN = 16  # events read beyond maxCount, so that runs cut by the read never show
_FEW_TIMES = 32  # up to this many interpolation times, one read each


@dataclass(frozen=True, slots=True)
class Values:
    events: Events
    sub: I64  # 0–9 ticks past each event's microsecond

    def __len__(self) -> int:
        return len(self.events)

    @property
    def ticks(self) -> I64:
        return self.events.ts_us * TICKS_PER_US + self.sub

    def take(self, index: slice | I64) -> Values:
        if isinstance(index, slice):
            return Values(take(self.events, index), self.sub[index])
        return Values(_pick(self.events, index), self.sub[index])


def empty() -> Values:
    return Values(empty_events(), np.zeros(0, dtype=np.int64))


def join(parts: list[Values]) -> Values:
    kept = [p for p in parts if len(p)]
    if not kept:
        return empty()
    events = concat(p.events for p in kept)
    assert events is not None
    return Values(events, np.concatenate([p.sub for p in kept]))


def sub_ticks(ts_us: I64, hundred_ns: bool) -> I64:
    """The 7th digit of each event (input in time order, runs of one microsecond complete)."""
    if not hundred_ns:
        return np.zeros(ts_us.shape[0], dtype=np.int64)
    base: I64 = 1 + ts_us % 7 % 3
    out: I64 = np.minimum(base + 3 * seq_numbers(ts_us).astype(np.int64), 9)
    return out


def read(
    emu: Emulator, point: EmulatedPoint, lo: int, hi: int, max_count: int, descending: bool
) -> Values:
    """Events with lo <= tick <= hi: the first ``max_count`` (the last when descending)."""
    if hi < lo or max_count <= 0:
        return empty()
    if not point.hundred_ns:  # whole microseconds: the Simulator's own range, nothing to filter
        first, last = max(0, -(-lo // TICKS_PER_US)), hi // TICKS_PER_US
        found = emu.reader.read(point.data_name, first, last, max_count, descending)
        return Values(found, np.zeros(len(found), dtype=np.int64))
    lo_us, hi_us = max(0, lo // TICKS_PER_US), hi // TICKS_PER_US
    events = emu.reader.read(point.data_name, lo_us, hi_us, max_count + _MARGIN, descending)
    if descending:
        events = take(events, slice(None, None, -1))
    values = Values(events, sub_ticks(events.ts_us, point.hundred_ns))
    ticks = values.ticks
    keep = np.flatnonzero((ticks >= lo) & (ticks <= hi))
    if keep.shape[0] != len(values):
        values = values.take(keep)
    if descending:
        return values.take(slice(max(0, len(values) - max_count), None)).take(slice(None, None, -1))
    return values.take(slice(0, max_count))


def at_or_before(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    """The last event at or before t (0 or 1 row)."""
    return read(emu, point, 0, t, 1, descending=True)


def before(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    return at_or_before(emu, point, t - 1)


def after(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    """The first event strictly after t (0 or 1 row)."""
    return read(emu, point, t + 1, MAX_TICKS, 1, descending=False)


def at_or_after(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    return read(emu, point, t, MAX_TICKS, 1, descending=False)


def at_time(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    """The events exactly at t."""
    return read(emu, point, t, t, 1_000, descending=False)


def interpolated(emu: Emulator, point: EmulatedPoint, t: int) -> Values:
    """The interpolated value at t as one row stamped t (empty before the point's first event)."""
    prev = at_or_before(emu, point, t)
    if not len(prev):
        return empty()
    row = _stamped(prev, t)
    if int(prev.ticks[0]) == t or point.definition.is_digital or _is_state(prev):
        return row
    nxt = after(emu, point, t)
    if not len(nxt) or _is_state(nxt):
        return row
    t0, t1 = int(prev.ticks[0]), int(nxt.ticks[0])
    v0, v1 = float(prev.events.value[0]), float(nxt.events.value[0])
    value = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    row.events.value[0] = value
    return row


def interpolated_at(emu: Emulator, point: EmulatedPoint, times: list[int]) -> Values:
    """Interpolated values at ``times`` (any order): one read of the events they span, or one
    read per time when those events are more than MaxReturnedItemsPerCall."""
    if len(times) <= _FEW_TIMES:
        return join([interpolated(emu, point, t) for t in times])
    lo, hi = min(times), max(times)
    limit = emu.settings.max_returned_items_per_call
    body = read(emu, point, lo + 1, hi, limit + 1, descending=False)
    if len(body) > limit:
        return join([interpolated(emu, point, t) for t in times])
    known = join([at_or_before(emu, point, lo), body, after(emu, point, hi)])
    return _interpolate(known, np.array(times, dtype=np.int64), point.definition.is_digital)


def _interpolate(known: Values, times: I64, step: bool) -> Values:
    """Vectorised :func:`interpolated` of ``times`` over ``known`` (every event they need)."""
    ticks = known.ticks
    prev = np.searchsorted(ticks, times, side="right") - 1
    keep = prev >= 0
    times, prev = times[keep], prev[keep]
    if not times.shape[0]:
        return empty()
    rows = _pick(known.events, prev)
    rows.ts_us[:] = times // TICKS_PER_US
    out = Values(rows, times % TICKS_PER_US)
    nxt = np.minimum(prev + 1, len(known) - 1)
    states = known.events.state_index >= 0
    linear = (ticks[prev] != times) & (prev + 1 < len(known)) & ~states[prev] & ~states[nxt]
    if step or not bool(linear.any()):
        return out
    elapsed, span = times - ticks[prev], ticks[nxt] - ticks[prev]  # exact, in int64
    v0, v1 = known.events.value[prev], known.events.value[nxt]
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = v0 + (v1 - v0) * elapsed / span
    rows.value[linear] = mixed[linear]
    return out


def plot(emu: Emulator, point: EmulatedPoint, lo: int, hi: int, intervals: int) -> Values:
    """PI's plot values: per interval the first, last, minimum and maximum events (each once,
    in time order), between interpolated values at both ends."""
    edges = np.linspace(lo, hi, intervals + 1).round().astype(np.int64).tolist()
    parts = [interpolated(emu, point, lo)]
    limit = emu.settings.max_returned_items_per_call
    for start, stop in itertools.pairwise(edges):
        inside = read(emu, point, start + 1 if start > lo else start, stop, limit, False)
        if len(inside):
            parts.append(inside.take(_plot_rows(inside)))
    parts.append(interpolated(emu, point, hi))
    return join(parts)


def _plot_rows(values: Values) -> I64:
    """First, last, lowest, highest and at most one exceptional value (bad or a state)."""
    n = len(values)
    rows = {0, n - 1}
    states = values.events.state_index >= 0
    numbers = np.where(states, np.nan, values.events.value)
    if not bool(np.isnan(numbers).all()):
        rows.add(int(np.nanargmin(numbers)))
        rows.add(int(np.nanargmax(numbers)))
    exceptional = np.flatnonzero(states | ~values.events.good)
    if exceptional.shape[0]:
        rows.add(int(exceptional[0]))
    return np.array(sorted(rows), dtype=np.int64)


def _is_state(values: Values) -> bool:
    return bool(values.events.state_index[0] >= 0)


def _stamped(values: Values, t: int) -> Values:
    """A copy of the first row, moved to tick t."""
    events = _pick(values.events, np.zeros(1, dtype=np.int64))
    events.ts_us[0] = t // TICKS_PER_US
    return Values(events, np.array([t % TICKS_PER_US], dtype=np.int64))


def _pick(events: Events, rows: I64) -> Events:
    return Events(
        ts_us=events.ts_us[rows].copy(),
        value=events.value[rows].copy(),
        state_index=events.state_index[rows],
        is_system=events.is_system[rows],
        good=events.good[rows],
        state_names=events.state_names,
        state_codes=events.state_codes,
    )

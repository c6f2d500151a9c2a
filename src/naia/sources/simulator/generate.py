"""Deterministic, vectorised event generation.

Every quantity of an event is a pure function of (point, slot number), where slot ``k`` covers
``[k·I, (k+1)·I)`` for the point's interval ``I``. So the events of any sub-range are exactly the
events of a larger range restricted to it: chunked, paged and resumed reads compare exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from naia.sources.simulator.catalogue import SYSTEM_STATES, PointDef
from naia.sources.simulator.settings import PointOptions

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
US_PER_S = 1_000_000

SALT_GAP, SALT_OFFSET, SALT_WHOLE, SALT_DUP, SALT_SYS, SALT_NOISE, SALT_CODE = range(7)
SYS_CODES = np.array([c for c, _ in SYSTEM_STATES], dtype=np.int32)
SYS_NAMES = tuple(n for _, n in SYSTEM_STATES)


@dataclass(frozen=True, slots=True)
class Events:
    """One point's events in time order, as numpy columns.

    ``state_index`` indexes :attr:`state_names` (−1: a plain number in ``value``).
    """

    ts_us: npt.NDArray[np.int64]
    value: F64
    state_index: npt.NDArray[np.int32]
    is_system: npt.NDArray[np.bool_]
    good: npt.NDArray[np.bool_]
    state_names: tuple[str, ...]
    state_codes: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


def _mix(seed: int, k: npt.NDArray[np.int64], salt: int) -> U64:
    """splitmix64 of (seed, slot, salt): a counter-based hash, identical for any sub-range."""
    z = k.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z += np.uint64((seed * 0x632BE59BD9B4E019 + salt * 0xD1B54A32D192ED03) & (2**64 - 1))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _uniform(seed: int, k: npt.NDArray[np.int64], salt: int) -> F64:
    return (_mix(seed, k, salt) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def slot_count(options: PointOptions, start_us: int, end_us: int) -> int:
    interval = int(options.interval_seconds * US_PER_S)
    return max(0, -(-end_us // interval) - start_us // interval)


def generate(point: PointDef, options: PointOptions, start_us: int, end_us: int) -> Events:
    """Events of ``point`` with start_us <= ts < end_us."""
    slots, ts, dup = _timestamps(point, options, start_us, end_us)
    return _values(point, options, slots, ts, dup)


def is_regular(options: PointOptions) -> bool:
    """One event on every interval boundary: its counts are arithmetic."""
    return not options.irregular and options.same_timestamp_rate == 0


def event_times(
    point: PointDef, options: PointOptions, start_us: int, end_us: int
) -> npt.NDArray[np.int64]:
    """The timestamps of ``generate``'s events (same-timestamp events repeated), no values."""
    return _timestamps(point, options, start_us, end_us)[1]


def _timestamps(
    point: PointDef, options: PointOptions, start_us: int, end_us: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    interval = int(options.interval_seconds * US_PER_S)
    if options.irregular:
        slots = np.arange(start_us // interval, -(-end_us // interval), dtype=np.int64)
        ts = slots * interval + _offsets(point.seed, slots, interval)
        keep = (ts >= start_us) & (ts < end_us)
        if options.gap_rate > 0:
            keep &= _uniform(point.seed, slots, SALT_GAP) >= options.gap_rate
        slots, ts = slots[keep], ts[keep]
    else:
        slots = np.arange(-(-start_us // interval), -(-end_us // interval), dtype=np.int64)
        ts = slots * interval
    if options.same_timestamp_rate > 0:
        slots, ts, dup = _duplicate(point.seed, slots, ts, options.same_timestamp_rate)
    else:
        dup = np.zeros(slots.shape[0], dtype=bool)
    return slots, ts, dup


def _offsets(seed: int, slots: npt.NDArray[np.int64], interval: int) -> npt.NDArray[np.int64]:
    """Offsets inside the slot: half whole seconds, half with a microsecond fraction."""
    raw = (_uniform(seed, slots, SALT_OFFSET) * interval).astype(np.int64)
    whole = _uniform(seed, slots, SALT_WHOLE) < 0.5
    return np.where(whole, raw - raw % US_PER_S, raw)


def _duplicate(
    seed: int, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], rate: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Give some slots a second event at the very same timestamp (seq 1)."""
    twice = _uniform(seed, slots, SALT_DUP) < rate
    repeats = np.where(twice, 2, 1)
    slots2 = np.repeat(slots, repeats)
    ts2 = np.repeat(ts, repeats)
    second = np.zeros(slots2.shape[0], dtype=bool)
    second[1:] = ts2[1:] == ts2[:-1]
    return slots2, ts2, second


def _values(
    point: PointDef,
    options: PointOptions,
    slots: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    dup: npt.NDArray[np.bool_],
) -> Events:
    n = ts.shape[0]
    seed = point.seed
    salt_shift = dup.astype(np.int64) * 1_000_003  # a second event gets its own draws
    keys = slots + salt_shift
    state_index = np.full(n, -1, dtype=np.int32)
    if point.is_digital:
        runs = (slots // 15) + salt_shift
        state_index = (_mix(seed, runs, SALT_CODE) % np.uint64(len(point.states))).astype(np.int32)
        value = np.full(n, np.nan)
        names = point.states
        codes = np.arange(len(point.states), dtype=np.int32)
    else:
        value = _wave(point, ts, _uniform(seed, keys, SALT_NOISE))
        names, codes = (), np.zeros(0, dtype=np.int32)
    is_system = np.zeros(n, dtype=bool)
    if options.system_state_rate > 0:
        is_system = _uniform(seed, keys, SALT_SYS) < options.system_state_rate
        pick = (_mix(seed, keys, SALT_CODE + 1) % np.uint64(len(SYS_CODES))).astype(np.int32)
        state_index = np.where(is_system, pick + len(names), state_index).astype(np.int32)
        value = np.where(is_system, np.nan, value)
    return Events(
        ts_us=ts,
        value=value,
        state_index=state_index,
        is_system=is_system,
        good=~is_system,
        state_names=names + SYS_NAMES,
        state_codes=np.concatenate([codes, SYS_CODES]).astype(np.int32),
    )


def _wave(point: PointDef, ts: npt.NDArray[np.int64], noise: F64) -> F64:
    unit = wave_unit(point.wave, ts, noise, point.period_s, point.phase)
    span = point.high - point.low
    # PI Float32 points store single precision: round so every transport is exact.
    return (point.low + span * unit).astype(np.float32).astype(np.float64)


def wave_unit(
    wave: str, ts: npt.NDArray[np.int64], noise: F64, period_s: float | F64, phase: float | F64
) -> F64:
    """The wave's position in [0, 1] at each timestamp (per point or per event parameters)."""
    seconds = ts.astype(np.float64) / US_PER_S
    cycle = np.mod(seconds / period_s + phase, 1.0)
    if wave == "sine":
        unit: F64 = 0.5 + 0.5 * np.sin(2 * np.pi * cycle)
    elif wave == "ramp":
        unit = np.clip(np.minimum(cycle / 0.4, (1.0 - cycle) / 0.3), 0.0, 1.0)
        unit = np.clip(unit + (noise - 0.5) * 0.02, 0.0, 1.0)
    else:
        unit = np.clip(0.5 + 0.3 * np.sin(2 * np.pi * cycle) + (noise - 0.5) * 0.4, 0.0, 1.0)
    return unit

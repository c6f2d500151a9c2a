"""Many points' events of one time block in one numpy pass: the same events as ``generate``.

``generate`` makes one point's events; a block of a 1,000-point read called it 1,000 times for
~130 events each, and that per-call overhead — not the values — was the cost (the per-value
cost doubled from 100 to 1,000 points). Here the points of a block that share their options
and kind are generated together, with per-event seed and wave parameters, by the very same
arithmetic (the same splitmix64 draws, the same float operations in the same order), so every
value is bit-for-bit what ``generate`` gives for that point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from naia.sources.simulator.catalogue import PointDef
from naia.sources.simulator.generate import (
    F64,
    SALT_CODE,
    SALT_DUP,
    SALT_GAP,
    SALT_NOISE,
    SALT_OFFSET,
    SALT_SYS,
    SALT_WHOLE,
    SYS_NAMES,
    U64,
    US_PER_S,
    wave_unit,
)
from naia.sources.simulator.settings import PointOptions

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
_MASK = 2**64 - 1
_GOLD = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, slots=True)
class Block:
    """Events of several points, point after point (each point's events in time order).

    ``point`` indexes the requested points; ``state`` indexes ``names`` (−1: a number).
    """

    point: I32
    ts_us: I64
    seq: npt.NDArray[np.int16]
    value: F64
    state: I32
    good: npt.NDArray[np.bool_]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True, slots=True)
class _Part:
    who: I64  # index into the requested points, ascending (point-major)
    ts: I64
    value: F64
    state: I32
    good: npt.NDArray[np.bool_]


def generate_block(
    definitions: Sequence[PointDef], options: Sequence[PointOptions], start_us: int, end_us: int
) -> Block:
    """Events of every point with start_us <= ts < end_us, in the order of ``definitions``."""
    names, offsets = _state_names(definitions)
    parts = [
        _group(definitions, members, options[members[0]], offsets, start_us, end_us)
        for members in _groups(definitions, options)
    ]
    return _assemble(parts, len(definitions), names)


def _groups(definitions: Sequence[PointDef], options: Sequence[PointOptions]) -> list[list[int]]:
    """Points that can be generated together: same options, same kind of wave."""
    groups: dict[tuple[PointOptions, str], list[int]] = {}
    for i, (definition, opts) in enumerate(zip(definitions, options, strict=True)):
        groups.setdefault((opts, definition.wave if not definition.is_digital else ""), []).append(
            i
        )
    return list(groups.values())


def _state_names(definitions: Sequence[PointDef]) -> tuple[tuple[str, ...], I32]:
    """One name table: the system states first, then each digital point's own states."""
    names = list(SYS_NAMES)
    offsets = np.zeros(len(definitions), dtype=np.int32)
    for i, definition in enumerate(definitions):
        if definition.is_digital:
            offsets[i] = len(names)
            names.extend(definition.states)
    return tuple(names), offsets


def _salted(seeds: U64, salt: int) -> U64:
    """(seed·C1 + salt·C2) mod 2⁶⁴ per point, as ``generate._mix`` computes it for one seed."""
    return seeds * np.uint64(0x632BE59BD9B4E019) + np.uint64((salt * 0xD1B54A32D192ED03) & _MASK)


def _mix(salted: U64, k: I64) -> U64:
    z = k.astype(np.uint64) * _GOLD
    z += salted
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _uniform(salted: U64, k: I64) -> F64:
    return (_mix(salted, k) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


class _Draws:
    """The per-event hash inputs of a group: each event's point seed, salted on demand."""

    def __init__(self, seeds: U64, who: I64) -> None:
        self.seeds = seeds
        self.who = who

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        self.who = self.who[mask]

    def salted(self, salt: int) -> U64:
        return _salted(self.seeds, salt)[self.who]


def _group(
    definitions: Sequence[PointDef],
    members: list[int],
    options: PointOptions,
    offsets: I32,
    start_us: int,
    end_us: int,
) -> _Part:
    interval = int(options.interval_seconds * US_PER_S)
    first = start_us // interval if options.irregular else -(-start_us // interval)
    base = np.arange(first, -(-end_us // interval), dtype=np.int64)
    local = np.repeat(np.arange(len(members), dtype=np.int64), base.shape[0])
    slots = np.tile(base, len(members))
    draws = _Draws(np.array([definitions[m].seed for m in members], dtype=np.uint64), local)
    if options.irregular:
        slots, ts = _irregular(draws, slots, interval, options.gap_rate, start_us, end_us)
    else:
        ts = slots * interval
    dup = np.zeros(slots.shape[0], dtype=bool)
    if options.same_timestamp_rate > 0:
        slots, ts, dup = _duplicate(draws, slots, ts, options.same_timestamp_rate)
    chosen = [definitions[m] for m in members]
    value, state = _values(chosen, draws, slots, ts, dup, offsets[np.array(members)])
    is_system = np.zeros(ts.shape[0], dtype=bool)
    if options.system_state_rate > 0:
        keys = slots + dup.astype(np.int64) * 1_000_003
        is_system = _uniform(draws.salted(SALT_SYS), keys) < options.system_state_rate
        pick = (_mix(draws.salted(SALT_CODE + 1), keys) % np.uint64(len(SYS_NAMES))).astype(
            np.int32
        )
        state = np.where(is_system, pick, state).astype(np.int32)
        value = np.where(is_system, np.nan, value)
    who = np.array(members, dtype=np.int64)[draws.who]
    return _Part(who, ts, value, state, ~is_system)


def _irregular(
    draws: _Draws, slots: I64, interval: int, gap_rate: float, start_us: int, end_us: int
) -> tuple[I64, I64]:
    raw = (_uniform(draws.salted(SALT_OFFSET), slots) * interval).astype(np.int64)
    whole = _uniform(draws.salted(SALT_WHOLE), slots) < 0.5
    ts = slots * interval + np.where(whole, raw - raw % US_PER_S, raw)
    keep = (ts >= start_us) & (ts < end_us)
    if gap_rate > 0:
        keep &= _uniform(draws.salted(SALT_GAP), slots) >= gap_rate
    draws.keep(keep)
    return slots[keep], ts[keep]


def _duplicate(
    draws: _Draws, slots: I64, ts: I64, rate: float
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    twice = _uniform(draws.salted(SALT_DUP), slots) < rate
    repeats = np.where(twice, 2, 1)
    who = np.repeat(draws.who, repeats)
    slots2, ts2 = np.repeat(slots, repeats), np.repeat(ts, repeats)
    second = np.zeros(slots2.shape[0], dtype=bool)
    second[1:] = (ts2[1:] == ts2[:-1]) & (who[1:] == who[:-1])
    draws.who = who
    return slots2, ts2, second


def _values(
    chosen: list[PointDef],
    draws: _Draws,
    slots: I64,
    ts: I64,
    dup: npt.NDArray[np.bool_],
    state_offsets: I32,
) -> tuple[F64, I32]:
    salt_shift = dup.astype(np.int64) * 1_000_003
    if chosen[0].is_digital:
        runs = (slots // 15) + salt_shift
        count = np.array([len(p.states) for p in chosen], dtype=np.uint64)[draws.who]
        code = (_mix(draws.salted(SALT_CODE), runs) % count).astype(np.int32)
        return np.full(ts.shape[0], np.nan), code + state_offsets[draws.who]
    noise = _uniform(draws.salted(SALT_NOISE), slots + salt_shift)

    def per_event(values: list[float]) -> F64:
        return np.array(values, dtype=np.float64)[draws.who]

    low, high = per_event([p.low for p in chosen]), per_event([p.high for p in chosen])
    unit = wave_unit(
        chosen[0].wave, ts, noise, per_event([p.period_s for p in chosen]),
        per_event([p.phase for p in chosen]),
    )  # fmt: skip
    value = (low + (high - low) * unit).astype(np.float32).astype(np.float64)
    return value, np.full(ts.shape[0], -1, dtype=np.int32)


def _assemble(parts: list[_Part], points: int, names: tuple[str, ...]) -> Block:
    """The groups' events laid out point after point, in the order the points were asked."""
    if len(parts) == 1:
        p = parts[0]
        who, ts, value, state, good = p.who, p.ts, p.value, p.state, p.good
    else:
        who, ts, value, state, good = _point_major(parts, points)
    starts = np.ones(ts.shape[0], dtype=bool)
    starts[1:] = (ts[1:] != ts[:-1]) | (who[1:] != who[:-1])
    return Block(who.astype(np.int32), ts, _seq(starts), value, state, good, names)


def _seq(starts: npt.NDArray[np.bool_]) -> npt.NDArray[np.int16]:
    idx = np.arange(starts.shape[0], dtype=np.int64)
    first = np.maximum.accumulate(np.where(starts, idx, 0)) if starts.shape[0] else idx
    return (idx - first).astype(np.int16)


def _point_major(
    parts: list[_Part], points: int
) -> tuple[I64, I64, F64, I32, npt.NDArray[np.bool_]]:
    counts = np.zeros(points, dtype=np.int64)
    for p in parts:
        counts += np.bincount(p.who, minlength=points)
    begin = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    who = np.empty(total, dtype=np.int64)
    ts = np.empty(total, dtype=np.int64)
    value = np.empty(total, dtype=np.float64)
    state = np.empty(total, dtype=np.int32)
    good = np.empty(total, dtype=bool)
    for p in parts:
        run_start = np.searchsorted(p.who, p.who, side="left")
        dest = begin[p.who] + (np.arange(p.who.shape[0]) - run_start)
        who[dest], ts[dest], value[dest], state[dest], good[dest] = (
            p.who, p.ts, p.value, p.state, p.good
        )  # fmt: skip
    return who, ts, value, state, good

"""Recorded-values semantics over the Simulator: Inside boundaries, maxCount, descending order.

The Simulator's data is a pure function of (point, time), so reading a range in windows and
concatenating gives exactly the events of the whole range. Windows grow geometrically until
``max_count`` events are found, so a small page of a long range stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from naia.sources.simulator.generate import US_PER_S, Events
from naia.sources.simulator.settings import SimulatorSettings
from naia.sources.simulator.source import SimulatorSource

_FIRST_WINDOW_MARGIN = 1.1


def concat(parts: Iterable[Events]) -> Events | None:
    blocks = [p for p in parts if len(p)]
    if not blocks:
        return None
    if len(blocks) == 1:
        return blocks[0]
    first = blocks[0]
    return Events(
        ts_us=np.concatenate([b.ts_us for b in blocks]),
        value=np.concatenate([b.value for b in blocks]),
        state_index=np.concatenate([b.state_index for b in blocks]),
        is_system=np.concatenate([b.is_system for b in blocks]),
        good=np.concatenate([b.good for b in blocks]),
        state_names=first.state_names,
        state_codes=first.state_codes,
    )


def take(events: Events, index: slice) -> Events:
    return Events(
        ts_us=events.ts_us[index],
        value=events.value[index],
        state_index=events.state_index[index],
        is_system=events.is_system[index],
        good=events.good[index],
        state_names=events.state_names,
        state_codes=events.state_codes,
    )


def empty_events() -> Events:
    return Events(
        ts_us=np.zeros(0, dtype=np.int64),
        value=np.zeros(0, dtype=np.float64),
        state_index=np.zeros(0, dtype=np.int32),
        is_system=np.zeros(0, dtype=bool),
        good=np.zeros(0, dtype=bool),
        state_names=(),
        state_codes=np.zeros(0, dtype=np.int32),
    )


class RecordedReader:
    """Reads a point's events with ``lo <= ts <= hi`` (Inside), at most ``max_count`` of them."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self._settings = settings
        self._source = SimulatorSource(settings)

    def read(self, point: str, lo_us: int, hi_us: int, max_count: int, descending: bool) -> Events:
        """Ascending: the first ``max_count`` events from lo; descending: the last, newest first."""
        if hi_us < lo_us or max_count <= 0:
            return empty_events()
        span = self._first_span(point, max_count)
        if descending:
            found = self._backward(point, lo_us, hi_us + 1, max_count, span)
            return take(found, slice(None, None, -1))
        return self._forward(point, lo_us, hi_us + 1, max_count, span)

    def _first_span(self, point: str, max_count: int) -> int:
        """A window expected to hold ~10 % more than ``max_count`` events."""
        options = self._settings.options_for(point)
        density = 1.0
        if options.irregular:
            density = (1.0 - options.gap_rate) * (1.0 + options.same_timestamp_rate)
        slots = max_count / density * _FIRST_WINDOW_MARGIN + 16
        return max(1, int(options.interval_seconds * US_PER_S * slots))

    def _window(self, point: str, start_us: int, end_us: int) -> Events | None:
        return concat(self._source.events(point, start_us, end_us))

    def _forward(self, point: str, start: int, end: int, max_count: int, span: int) -> Events:
        parts: list[Events] = []
        found = 0
        while start < end and found < max_count:
            stop = min(end, start + span)
            block = self._window(point, start, stop)
            if block is not None:
                parts.append(block)
                found += len(block)
            start, span = stop, span * 2
        whole = concat(parts)
        return empty_events() if whole is None else take(whole, slice(0, max_count))

    def _backward(self, point: str, start: int, end: int, max_count: int, span: int) -> Events:
        parts: list[Events] = []
        found = 0
        while start < end and found < max_count:
            begin = max(start, end - span)
            block = self._window(point, begin, end)
            if block is not None:
                parts.append(block)
                found += len(block)
            end, span = begin, span * 2
        whole = concat(reversed(parts))
        if whole is None:
            return empty_events()
        return take(whole, slice(max(0, found - max_count), None))

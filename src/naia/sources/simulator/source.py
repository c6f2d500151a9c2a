"""SimulatorSource: the classic PI points, generated deterministically."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
import pyarrow as pa

from naia.domain.errors import UnknownPointError
from naia.domain.schema import point_batch, unify
from naia.domain.timeparse import to_us
from naia.sources.simulator.catalogue import PointDef, find_point
from naia.sources.simulator.generate import Events, generate, slot_count
from naia.sources.simulator.settings import SimulatorSettings


class SimulatorSource:
    """A Source whose data is a pure function of (point, time): see ``generate``."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self._settings = settings or SimulatorSettings()

    def check_points(self, points: Sequence[str]) -> None:
        unknown = [p for p in points if find_point(p) is None]
        if unknown:
            raise UnknownPointError(unknown)

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        self.check_points(points)
        return self._time_major(points, to_us(start), to_us(end))

    def _time_major(
        self, points: Sequence[str], start_us: int, end_us: int
    ) -> Iterator[pa.RecordBatch]:
        """One batch per time block holding every point, block after block: successive batches
        cover successive, disjoint time ranges (a time-series store appends those instead of
        merging them into rows it holds), each of about batch_rows rows."""
        slots = sum(slot_count(self._settings.options_for(p), start_us, end_us) for p in points)
        blocks = max(1, -(-slots // self._settings.batch_rows))
        step = -(-(end_us - start_us) // blocks)
        for block_start in range(start_us, end_us, step):
            block_end = min(block_start + step, end_us)
            parts = [
                self._point_batch(point, self._generate(point, block_start, block_end))
                for point in points
            ]
            parts = [p for p in parts if p.num_rows]
            if parts:
                yield unify(parts)

    def events(self, point: str, start_us: int, end_us: int) -> Iterator[Events]:
        """The point's events in [start_us, end_us), in blocks of at most ~batch_rows slots."""
        slots = slot_count(self._settings.options_for(point), start_us, end_us)
        blocks = max(1, -(-slots // self._settings.batch_rows))
        step = -(-(end_us - start_us) // blocks)
        for block_start in range(start_us, end_us, step):
            yield self._generate(point, block_start, min(block_start + step, end_us))

    def _generate(self, point: str, start_us: int, end_us: int) -> Events:
        definition = effective_definition(self._settings, _resolve(point))
        return generate(definition, self._settings.options_for(point), start_us, end_us)

    def close(self) -> None:
        return None

    @staticmethod
    def _point_batch(point: str, events: Events) -> pa.RecordBatch:
        return point_batch(
            point,
            events.ts_us,
            events.value,
            _state_column(events),
            events.good,
        )


def effective_definition(settings: SimulatorSettings, definition: PointDef) -> PointDef:
    """The point as these settings make it: a ``digital_states`` option turns it digital."""
    states = settings.options_for(definition.name).digital_states
    if not states:
        return definition
    return replace(
        definition,
        point_type="Digital",
        wave="digital",
        states=states,
        digital_set=f"{definition.name}.States",
        units="",
    )


def _resolve(point: str) -> PointDef:
    definition = find_point(point)
    if definition is None:
        raise UnknownPointError([point])
    return definition


def _state_column(events: Events) -> pa.Array:
    mask = events.state_index < 0
    if bool(mask.all()):
        return pa.nulls(len(events), type=pa.string())
    indices = pa.array(np.where(mask, 0, events.state_index), mask=mask, type=pa.int32())
    names = pa.array(list(events.state_names), type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, names).cast(pa.string())

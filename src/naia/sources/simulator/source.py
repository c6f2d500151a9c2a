"""SimulatorSource: the classic PI points, generated deterministically."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
import pyarrow as pa

from naia.domain.counting import tally_rows, window_edges
from naia.domain.errors import UnknownPointError
from naia.domain.fingerprint import EMPTY, Tally, progression_tally
from naia.domain.model import WindowGrid
from naia.domain.ports import PointWindowTallies
from naia.domain.schema import BATCH_SCHEMA, TIMESTAMP_TYPE, seq_numbers
from naia.domain.timeparse import to_us
from naia.sources.simulator.block import Block, generate_block
from naia.sources.simulator.catalogue import PointDef, find_point
from naia.sources.simulator.generate import (
    US_PER_S,
    Events,
    event_times,
    generate,
    is_regular,
    slot_count,
)
from naia.sources.simulator.settings import PointOptions, SimulatorSettings


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
        found = [effective_definition(self._settings, _resolve(p)) for p in points]
        options = [self._settings.options_for(p) for p in points]
        for block_start in range(start_us, end_us, step):
            block = generate_block(found, options, block_start, min(block_start + step, end_us))
            if len(block):
                yield block_batch(points, block)

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

    def tally_events(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        """Count and key fingerprint per (point, window), without generating values: in closed
        form for a regular point (its keys are an arithmetic progression, seq 0); for an
        irregular one from the generator's timestamps, seq numbered as ``read`` numbers it."""
        self.check_points(points)
        edges = window_edges(grid)
        tallies: dict[tuple[str, int], Tally] = {}
        for point in points:
            per_window = self._point_tallies(point, grid, edges)
            tallies.update({(point, i): t for i, t in enumerate(per_window) if t.count})
        return tallies

    def _point_tallies(self, point: str, grid: WindowGrid, edges: np.ndarray) -> list[Tally]:
        options = self._settings.options_for(point)
        origin = int(edges[0])
        if is_regular(options):
            interval = int(options.interval_seconds * US_PER_S)
            out = []
            for a, b in itertools.pairwise(int(e) for e in edges):
                first = -(-a // interval)
                n = max(0, -(-b // interval) - first)
                out.append(progression_tally(n, interval, first * interval - origin))
            return out
        definition = effective_definition(self._settings, _resolve(point))
        batches = (
            _times_batch(point, event_times(definition, options, a, b))
            for a, b in self._blocks(options, origin, int(edges[-1]))
        )
        found = tally_rows(batches, [point], grid)
        return [found.get((point, i), EMPTY) for i in range(len(edges) - 1)]

    @staticmethod
    def _blocks(options: PointOptions, start_us: int, end_us: int) -> Iterator[tuple[int, int]]:
        slots = slot_count(options, start_us, end_us)
        step = -(-(end_us - start_us) // max(1, -(-slots // _COUNT_BLOCK_SLOTS)))
        for block_start in range(start_us, end_us, step):
            yield block_start, min(block_start + step, end_us)

    def close(self) -> None:
        return None


def _times_batch(point: str, ts: np.ndarray) -> pa.RecordBatch:
    """Timestamps and seq of one point's events (values left out: for tallies)."""
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ts).cast(TIMESTAMP_TYPE),
            pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(len(ts), dtype=np.int32)), pa.array([point], pa.string())
            ),
            pa.array(seq_numbers(ts)),
        ],
        names=["ts", "source_address", "seq"],
    )


_COUNT_BLOCK_SLOTS = 1 << 20  # timestamps counted a block at a time: memory stays ~30 MB


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


def block_batch(points: Sequence[str], block: Block) -> pa.RecordBatch:
    """One batch of every point's events of a block in time order (events of one instant in
    point order), from the block's columns put in that order once: no Arrow work per point,
    and no sort of the Arrow batch downstream (a time-ordered message is left as it is)."""
    order = np.argsort(block.ts_us, kind="stable")
    names = pa.DictionaryArray.from_arrays(
        pa.array(block.point[order]), pa.array(list(points), type=pa.string())
    )
    falses = pa.array(np.zeros(len(block), dtype=bool))
    return pa.RecordBatch.from_arrays(
        [
            pa.array(block.ts_us[order]).cast(TIMESTAMP_TYPE),
            names,
            pa.array(block.seq[order]),
            pa.array(block.value[order], from_pandas=True),
            _states(block, order),
            pa.array(block.good[order]),
            falses,
            falses,
            falses,
        ],
        schema=BATCH_SCHEMA,
    )


def _states(block: Block, order: np.ndarray) -> pa.Array:
    """State names (nulls for numbers), rows in ``order``."""
    index = block.state[order]
    mask = index < 0
    if bool(mask.all()):
        return pa.nulls(len(block), type=pa.string())
    indices = pa.array(np.where(mask, 0, index), mask=mask, type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(block.names, pa.string())).cast(
        pa.string()
    )

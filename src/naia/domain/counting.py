"""Rows of batch-schema batches counted per (point, window of a WindowGrid)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

from naia.domain.fingerprint import Tally, row_terms, tally_of
from naia.domain.model import WindowGrid
from naia.domain.schema import codes_of
from naia.domain.timeparse import to_us


def window_edges(grid: WindowGrid) -> np.ndarray:
    """The grid's window starts and its end, in UTC microseconds."""
    return np.array([to_us(a) for a, _ in grid.windows()] + [to_us(grid.end)], np.int64)


def _positions(names: pa.Array, position: dict[str, int]) -> np.ndarray:
    return codes_of(names, lambda p: position.get(p, -1))


def tally_rows(
    batches: Iterable[pa.RecordBatch], points: Sequence[str], grid: WindowGrid
) -> dict[tuple[str, int], Tally]:
    """(point, window index) → Tally (count and key fingerprint, ``naia.domain.fingerprint``),
    one batch at a time; rows outside the grid or of other points are left out. Sums are exact
    whatever their size (Python integers per (point, window))."""
    edges = window_edges(grid)
    position = {p: i for i, p in enumerate(points)}
    windows = grid.count
    size = len(points) * windows
    totals: list[list[int]] = [[0] * size for _ in range(5)]  # count, Σx, Σseq, Σu, Σu² mod P
    for batch in batches:
        if batch.num_rows == 0:
            continue
        ts = batch.column("ts").cast(pa.int64()).to_numpy()
        seq = batch.column("seq").to_numpy()
        window = np.searchsorted(edges, ts, side="right") - 1
        point = _positions(batch.column("source_address"), position)
        keep = (point >= 0) & (window >= 0) & (window < windows)
        group = point[keep] * windows + window[keep]
        counts = np.bincount(group, minlength=size)
        terms = row_terms(ts[keep] - edges[0], seq[keep])
        sums = [counts.tolist(), *(_group_sums(group, term, size) for term in terms)]
        for k in np.flatnonzero(counts).tolist():
            for i, column in enumerate(sums):
                totals[i][k] += column[k]
    return {
        (points[k // windows], k % windows): tally_of(
            totals[0][k], (totals[1][k], totals[2][k], totals[3][k], totals[4][k])
        )
        for k in range(size)
        if totals[0][k]
    }


def _group_sums(group: np.ndarray, values: np.ndarray, size: int) -> list[int]:
    """Exact sums of non-negative int64 ``values`` per group: four 16-bit limbs summed as
    float64 (exact below 2^37 rows per batch), put together as Python integers."""
    total = [0] * size
    for shift in range(0, 64, 16):
        limb = (values >> shift) & 0xFFFF
        if not limb.any():
            continue
        part = np.bincount(group, weights=limb, minlength=size).astype(np.int64)
        for k in np.flatnonzero(part):
            total[k] += int(part[k]) << shift
    return total

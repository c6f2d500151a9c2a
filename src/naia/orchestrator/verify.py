"""Verification: a request's stored rows against its source's own event counts.

Per point and per chunk window [a, b) of the request (the windows the backfill read), the source
counts its recorded events (``EventCounter`` when the Source has it, else a thin read of the
whole range bucketed by window) and the store counts its rows and repeated keys in one query. A
(point, window) whose counts differ, or that holds repeated rows, is a mismatch.

Live data: only windows that ended ``settle`` before the check are compared (a window the live
feed may still be writing is counted as skipped, never as a mismatch); rows are compared within
the request's [start, end) only, so live rows newer than the request never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from naia.domain.counting import count_rows
from naia.domain.model import Mismatch, WindowGrid
from naia.domain.ports import EventCounter, PointWindowCounts, Source, StoredCounts


def source_counts(source: Source, points: Sequence[str], grid: WindowGrid) -> PointWindowCounts:
    """The source's events per (point, window): its own count when it has one."""
    if isinstance(source, EventCounter):
        return source.count_events(points, grid)
    return thin_read_counts(source, points, grid)


def thin_read_counts(source: Source, points: Sequence[str], grid: WindowGrid) -> PointWindowCounts:
    """Read [grid.start, grid.end) once and count rows per (point, window): exact by definition
    (the very read the backfill does), holding one batch at a time."""
    return count_rows(source.read(points, grid.start, grid.end), points, grid)


@dataclass(frozen=True, slots=True)
class Comparison:
    windows_checked: int
    windows_skipped: int
    source_events: int
    stored_events: int
    mismatches: tuple[Mismatch, ...]


def settled_windows(grid: WindowGrid, now: datetime, settle: timedelta) -> int:
    """How many leading windows ended at least ``settle`` before ``now``."""
    horizon = now - settle
    return sum(1 for _, end in grid.windows() if end <= horizon)


def compare(
    points: Sequence[str],
    grid: WindowGrid,
    source: PointWindowCounts,
    stored: StoredCounts,
    settled: int,
) -> Comparison:
    """Every (point, window) of the first ``settled`` windows, source against store."""
    mismatches = []
    source_total = stored_total = 0
    for window in range(settled):
        start, end = grid.window(window)
        for point in points:
            key = (point, window)
            want, have = source.get(key, 0), stored.rows.get(key, 0)
            dups = stored.duplicates.get(key, 0)
            source_total += want
            stored_total += have
            if want != have or dups:
                mismatches.append(Mismatch(point, window, start, end, want, have, dups))
    return Comparison(
        windows_checked=settled * len(points),
        windows_skipped=(grid.count - settled) * len(points),
        source_events=source_total,
        stored_events=stored_total,
        mismatches=tuple(mismatches),
    )

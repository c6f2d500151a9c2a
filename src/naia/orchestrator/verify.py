"""Verification: a request's stored rows against its source's own event counts.

Per point and per chunk window [a, b) of the request (the windows the backfill read), the source
tallies its recorded events — count and key fingerprint (naia.domain.fingerprint;
``EventTallier`` when the Source has it, else a thin read of the whole range bucketed by window).
A store that tallies too (``StoreTallier``: DuckDB) does it in one linear scan, then counts rows
and repeated keys exactly for the (point, window)s whose tallies differ only; another store
(QuestDB, whose keys cannot repeat) counts its rows per (point, window) in one query. A
(point, window) whose counts differ, that holds repeated rows, or whose keys differ, is a
mismatch.

Live data: only windows that ended ``settle`` before the check are compared (a window the live
feed may still be writing is counted as skipped, never as a mismatch); rows are compared within
the request's [start, end) only, so live rows newer than the request never count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from naia.domain.counting import tally_rows
from naia.domain.fingerprint import EMPTY
from naia.domain.model import Mismatch, WindowGrid
from naia.domain.ports import (
    EventTallier,
    PointWindowTallies,
    Source,
    StoreCounter,
    StoredCounts,
    StoreTallier,
)


def source_tallies(source: Source, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
    """The source's count and key fingerprint per (point, window): its own when it has them."""
    if isinstance(source, EventTallier):
        return source.tally_events(points, grid)
    return tally_rows(source.read(points, grid.start, grid.end), points, grid)


def stored_counts(
    counter: StoreCounter | StoreTallier,
    points: Sequence[str],
    grid: WindowGrid,
    wanted: PointWindowTallies,
    settled: int,
) -> StoredCounts:
    """The store's rows per (point, window). A ``StoreTallier`` tallies every pair in one scan
    and counts exactly (rows, repeated keys) only the settled pairs whose tally differs from the
    source's; they are ``differs`` even when the exact counts then agree (other keys)."""
    if not isinstance(counter, StoreTallier):
        return counter.stored_counts(points, grid)
    tallies = counter.stored_tallies(points, grid)
    suspects = [
        (p, w)
        for w in range(settled)
        for p in points
        if tallies.get((p, w), EMPTY) != wanted.get((p, w), EMPTY)
    ]
    rows = {key: tally.count for key, tally in tallies.items()}
    duplicates: dict[tuple[str, int], int] = {}
    for batch in _batches(
        suspects, lambda k: max(tallies.get(k, EMPTY).count, wanted.get(k, EMPTY).count)
    ):
        exact = counter.exact_counts(grid, batch)
        rows.update({key: exact.rows.get(key, 0) for key in batch})
        duplicates.update(exact.duplicates)
    return StoredCounts(rows, duplicates, frozenset(suspects))


EXACT_BATCH_ROWS = 4_000_000
"""Rows one exact count holds at most (unless one pair alone holds more): DuckDB's key
aggregate stays inside the verification's memory limit."""


def _batches(
    pairs: list[tuple[str, int]], rows: Callable[[tuple[str, int]], int]
) -> Iterator[list[tuple[str, int]]]:
    """``pairs`` cut into runs of one window each and at most EXACT_BATCH_ROWS estimated rows:
    an exact count then reads just its pairs' rows."""
    batch: list[tuple[str, int]] = []
    held = 0
    for pair in sorted(pairs, key=lambda p: (p[1], p[0])):
        size = rows(pair)
        if batch and (batch[0][1] != pair[1] or held + size > EXACT_BATCH_ROWS):
            yield batch
            batch, held = [], 0
        batch.append(pair)
        held += size
    if batch:
        yield batch


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
    source: PointWindowTallies,
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
            want, have = source.get(key, EMPTY).count, stored.rows.get(key, 0)
            dups = stored.duplicates.get(key, 0)
            source_total += want
            stored_total += have
            if want != have or dups or key in stored.differs:
                mismatches.append(Mismatch(point, window, start, end, want, have, dups))
    return Comparison(
        windows_checked=settled * len(points),
        windows_skipped=(grid.count - settled) * len(points),
        source_events=source_total,
        stored_events=stored_total,
        mismatches=tuple(mismatches),
    )

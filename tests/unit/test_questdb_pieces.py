"""How a cycle is cut into ILP requests: sizes bounded, spread over the connections, nothing
lost or repeated."""

from __future__ import annotations

import numpy as np
import pytest

from naia.sinks.questdb.sink import bounds, pieces


@pytest.mark.parametrize(
    ("rows", "per_request", "connections", "min_split", "want"),
    [
        (10, 500, 2, 100, 1),  # small cycle: one transaction
        (99, 500, 2, 100, 1),
        (100, 500, 2, 100, 2),  # big enough: one request per connection
        (400_000, 500_000, 2, 100_000, 2),
        (1_200_000, 500_000, 2, 100_000, 3),  # the size bound wins
        (1_000_000, 500_000, 1, 100_000, 2),
        (0, 500, 2, 100, 1),
    ],
)
def test_pieces(rows: int, per_request: int, connections: int, min_split: int, want: int) -> None:
    assert pieces(rows, per_request, connections, min_split) == want


@pytest.mark.parametrize(
    ("groups", "per_group", "parts"),
    [(10, 1, 3), (9, 1, 3), (1, 1, 1), (1, 100, 2), (1000, 100, 2), (7, 13, 4), (3, 5, 5)],
)
def test_bounds_cover_every_row_once_and_never_split_a_timestamp(
    groups: int, per_group: int, parts: int
) -> None:
    ts = np.repeat(np.arange(groups, dtype=np.int64) * 60_000_000, per_group)
    cuts = bounds(ts, parts)
    covered = [i for offset, length in cuts for i in range(offset, offset + length)]
    assert covered == list(range(len(ts)))
    assert all(length > 0 for _, length in cuts)
    seen = [set(ts[offset : offset + length].tolist()) for offset, length in cuts]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    assert len(cuts) == min(parts, groups) or groups < parts * 2


def test_bounds_grow_so_the_earlier_range_commits_first() -> None:
    ts = np.arange(300_000, dtype=np.int64)
    lengths = [length for _, length in bounds(ts, 2)]
    assert lengths == [120_000, 180_000]


def test_bounds_of_nothing() -> None:
    assert bounds(np.array([], dtype=np.int64), 2) == []

"""How a cycle is cut into ILP requests: sizes bounded, spread over the connections, nothing
lost or repeated."""

from __future__ import annotations

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


@pytest.mark.parametrize(("rows", "parts"), [(10, 3), (9, 3), (1, 1), (0, 1), (1_000_001, 2)])
def test_bounds_cover_every_row_once_in_order(rows: int, parts: int) -> None:
    cuts = bounds(rows, parts)
    assert len(cuts) == parts
    covered = [i for offset, length in cuts for i in range(offset, offset + length)]
    assert covered == list(range(rows))
    lengths = [length for _, length in cuts]
    assert max(lengths) - min(lengths) <= 1

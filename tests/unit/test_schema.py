"""Helpers of the batch schema."""

import numpy as np
import pyarrow as pa

from naia.domain.schema import point_batch, time_sorted, unify


def test_time_sorted_sorts_stably_and_leaves_ordered_batches_alone() -> None:
    ts = np.array([5, 1, 3, 3, 2, 5], dtype=np.int64) * 1_000_000
    a = point_batch("A", ts[:3], np.arange(3, dtype=np.float64), None, np.ones(3, dtype=bool))
    b = point_batch("B", ts[3:], np.arange(3, 6, dtype=np.float64), None, np.ones(3, dtype=bool))
    batch = unify([a, b])
    ordered = time_sorted(batch)
    assert ordered.column("ts").cast(pa.int64()).to_pylist() == [
        1_000_000, 2_000_000, 3_000_000, 3_000_000, 5_000_000, 5_000_000
    ]  # fmt: skip
    # events of one timestamp keep the order they came in
    assert ordered.column("value").to_pylist() == [1.0, 4.0, 2.0, 3.0, 0.0, 5.0]
    assert ordered.column("source_address").to_pylist() == ["A", "B", "A", "B", "A", "B"]
    assert time_sorted(ordered) is ordered

"""Helpers of the batch schema."""

import subprocess
import sys

import numpy as np
import pyarrow as pa

from naia.domain.schema import BATCH_SCHEMA, codes_of, point_batch, time_sorted, unify


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


def test_point_batch_maps_nan_to_null_and_keeps_every_column() -> None:
    ts = np.array([3, 1, 2], dtype=np.int64)
    good = np.array([True, False, True])
    q = np.array([False, True, False])
    batch = point_batch("P", ts, np.array([1.5, np.nan, -2.0]), ["S1", None, None], good, seq=None,
                        questionable=q)  # fmt: skip
    assert batch.schema == BATCH_SCHEMA
    assert batch.column("ts").cast(pa.int64()).to_pylist() == [3, 1, 2]
    assert batch.column("value").to_pylist() == [1.5, None, -2.0]
    assert batch.column("value").null_count == 1
    assert batch.column("state").to_pylist() == ["S1", None, None]
    assert batch.column("good").to_pylist() == [True, False, True]
    assert batch.column("questionable").to_pylist() == [False, True, False]
    assert batch.column("substituted").to_pylist() == [False] * 3
    assert batch.column("source_address").to_pylist() == ["P"] * 3
    assert batch.column("seq").to_pylist() == [0, 0, 0]
    batch.validate(full=True)
    sliced = point_batch("Q", ts[1:], np.arange(3.0)[1:], None, good[1:])  # views, offset > 0
    assert sliced.column("value").to_pylist() == [1.0, 2.0]
    assert sliced.column("good").to_pylist() == [False, True]
    sliced.validate(full=True)


def test_point_batch_does_not_import_pandas() -> None:
    """pyarrow imports pandas (~0.3 CPU s) on the first ``pa.array(numpy)``: a `naia backfill`
    that builds its batches from numpy must not pay it."""
    code = (
        "import sys, numpy as np\n"
        "from naia.domain.schema import point_batch\n"
        "point_batch('P', np.arange(3, dtype=np.int64), np.array([1.0, np.nan, 2.0]), None,"
        " np.ones(3, dtype=bool))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_codes_of_maps_every_row_from_a_sliced_dictionary_or_plain_strings() -> None:
    names = ["A", "B", "A", "C", "B", "B", "A"]
    codes = {"A": 10, "B": 20, "C": 30}
    encoded = pa.array(names).dictionary_encode()
    assert isinstance(encoded, pa.DictionaryArray)
    assert codes_of(encoded.slice(2, 4), codes.__getitem__).tolist() == [10, 30, 20, 20]
    assert codes_of(pa.array(names), codes.__getitem__).tolist() == [codes[n] for n in names]

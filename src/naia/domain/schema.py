"""The batch schema: one row per PI event, as Arrow columns.

Every source yields ``pyarrow.RecordBatch`` objects in :data:`BATCH_SCHEMA`; every sink takes them.
Timestamps are UTC microseconds: the PI archive resolves ~15 µs, so distinct events stay distinct
and events that share a timestamp are told apart by ``seq``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
SCHEMA_VERSION = 1

BATCH_SCHEMA = pa.schema(
    [
        pa.field("ts", TIMESTAMP_TYPE, nullable=False),
        pa.field("source_address", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("seq", pa.int16(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("state", pa.string()),
        pa.field("good", pa.bool_(), nullable=False),
        pa.field("questionable", pa.bool_(), nullable=False),
        pa.field("substituted", pa.bool_(), nullable=False),
        pa.field("annotated", pa.bool_(), nullable=False),
    ]
)
COLUMNS = tuple(BATCH_SCHEMA.names)

I64 = npt.NDArray[np.int64]


def seq_numbers(ts_us: I64) -> npt.NDArray[np.int16]:
    """Ordinal of each event among the events of the same timestamp (input sorted by time)."""
    n = ts_us.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int16)
    idx = np.arange(n, dtype=np.int64)
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ts_us[1:], ts_us[:-1], out=starts[1:])
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return (idx - first).astype(np.int16)


def point_batch(
    point: str,
    ts_us: I64,
    value: npt.NDArray[np.float64],
    state: Sequence[str | None] | pa.Array | None,
    good: npt.NDArray[np.bool_],
    seq: npt.NDArray[np.int16] | None = None,
    questionable: npt.NDArray[np.bool_] | None = None,
    substituted: npt.NDArray[np.bool_] | None = None,
    annotated: npt.NDArray[np.bool_] | None = None,
) -> pa.RecordBatch:
    """Build a batch for one point from numpy columns (no Python object per value)."""
    n = ts_us.shape[0]
    falses = np.zeros(n, dtype=bool)
    names = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([point], type=pa.string())
    )
    value_arr = pa.array(value, type=pa.float64(), from_pandas=True)
    if state is None:
        state_arr = pa.nulls(n, type=pa.string())
    elif isinstance(state, pa.Array):
        state_arr = state
    else:
        state_arr = pa.array(state, type=pa.string())
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ts_us, type=pa.int64()).cast(TIMESTAMP_TYPE),
            names,
            pa.array(seq_numbers(ts_us) if seq is None else seq, type=pa.int16()),
            value_arr,
            state_arr,
            pa.array(good, type=pa.bool_()),
            pa.array(falses if questionable is None else questionable, type=pa.bool_()),
            pa.array(falses if substituted is None else substituted, type=pa.bool_()),
            pa.array(falses if annotated is None else annotated, type=pa.bool_()),
        ],
        schema=BATCH_SCHEMA,
    )


def empty_batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=BATCH_SCHEMA)


def unify(batches: Sequence[pa.RecordBatch]) -> pa.RecordBatch:
    """Concatenate batches of the batch schema into one (dictionaries unified)."""
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(list(batches), schema=BATCH_SCHEMA).unify_dictionaries()
    combined = table.combine_chunks().to_batches()
    return combined[0] if combined else empty_batch()


def rebatch(batches: Iterable[pa.RecordBatch], target_rows: int) -> Iterator[pa.RecordBatch]:
    """Group small batches into batches of about ``target_rows`` rows (never splits one)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= target_rows:
            yield unify(pending)
            pending, rows = [], 0
    if pending:
        yield unify(pending)


def time_sorted(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its rows in time order (stable: events of one timestamp keep their order);
    the batch itself when it is in order already, which costs one comparison pass, not a sort."""
    if batch.num_rows < 2:
        return batch
    ts = batch.column("ts").cast(pa.int64()).to_numpy()
    if bool((ts[1:] >= ts[:-1]).all()):
        return batch
    return batch.take(pa.array(np.argsort(ts, kind="stable")))

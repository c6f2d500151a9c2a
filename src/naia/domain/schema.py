"""The batch schema: one row per PI event, as Arrow columns.

Every source yields ``pyarrow.RecordBatch`` objects in :data:`BATCH_SCHEMA`; every sink takes them.
Timestamps are UTC microseconds: the PI archive resolves ~15 µs, so distinct events stay distinct
and events that share a timestamp are told apart by ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

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
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ts_us[1:], ts_us[:-1], out=starts[1:])
    if starts.all():  # the common case: no two events share a timestamp
        return np.zeros(n, dtype=np.int16)
    idx = np.arange(n, dtype=np.int64)
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
    """Build a batch for one point from numpy columns (no Python object per value).

    The columns are wrapped as Arrow buffers (``from_buffers``), not passed to ``pa.array``:
    pyarrow imports pandas on its first ``pa.array(ndarray)`` (~0.3 CPU s, more than a whole
    page's decode), and the numbers need no conversion. NaN values become nulls."""
    n = ts_us.shape[0]
    if state is not None and not isinstance(state, pa.Array):
        state = pa.array(state, type=pa.string())
    return points_batch(
        [point], [n], ts_us, value, state, good, seq_numbers(ts_us) if seq is None else seq,
        questionable, substituted, annotated,
    )  # fmt: skip


def points_batch(
    points: Sequence[str],
    counts: Sequence[int],
    ts_us: I64,
    value: npt.NDArray[np.float64],
    state: pa.Array | None,
    good: npt.NDArray[np.bool_],
    seq: npt.NDArray[np.int16],
    questionable: npt.NDArray[np.bool_] | None = None,
    substituted: npt.NDArray[np.bool_] | None = None,
    annotated: npt.NDArray[np.bool_] | None = None,
) -> pa.RecordBatch:
    """One batch of several points' rows, ``counts[i]`` rows of ``points[i]`` after each other
    (the columns already concatenated): one Arrow build where a batch a point and their
    concatenation cost a few pyarrow calls a point and a copy of every row."""
    n = ts_us.shape[0]
    return pa.RecordBatch.from_arrays(
        [
            fixed_array(TIMESTAMP_TYPE, ts_us, np.int64),
            _names(points, counts, n),
            fixed_array(pa.int16(), seq, np.int16),
            _floats(value),
            pa.nulls(n, type=pa.string()) if state is None else state,
            _bools(good, n),
            _bools(questionable, n),
            _bools(substituted, n),
            _bools(annotated, n),
        ],
        schema=BATCH_SCHEMA,
    )


def codes_of(names: pa.Array, code: Callable[[str], int]) -> npt.NDArray[np.int64]:
    """``code(name)`` of every row of a name column: one call a dictionary entry, the indices
    read from Arrow's buffer (``Array.to_numpy`` on an array read from IPC may import pandas,
    ~0.35 s); a plain string column one call a row."""
    if not isinstance(names, pa.DictionaryArray):
        return np.array([code(str(n)) for n in names.to_pylist()], dtype=np.int64)
    lookup = np.array([code(str(n)) for n in names.dictionary.to_pylist()], dtype=np.int64)
    indices = names.indices
    width = indices.type.bit_width // 8
    raw = np.frombuffer(indices.buffers()[1], f"<i{width}", len(indices), indices.offset * width)
    return np.take(lookup, raw)


def fixed_array(
    arrow_type: pa.DataType, values: npt.ArrayLike, dtype: type[np.generic]
) -> pa.Array:
    """An Arrow array of fixed-width values, no nulls, without ``pa.array`` (see above)."""
    data = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(arrow_type, data.shape[0], [None, pa.py_buffer(data)])


def _floats(values: npt.ArrayLike) -> pa.Array:
    """float64, NaN → null (what ``pa.array(..., from_pandas=True)`` did)."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    nan = np.isnan(data)
    if not nan.any():
        return pa.Array.from_buffers(pa.float64(), data.shape[0], [None, pa.py_buffer(data)])
    valid = pa.py_buffer(np.packbits(~nan, bitorder="little"))
    return pa.Array.from_buffers(
        pa.float64(), data.shape[0], [valid, pa.py_buffer(data)], null_count=int(nan.sum())
    )


def _bools(values: npt.ArrayLike | None, n: int) -> pa.Array:
    """Arrow booleans are bits: pack the bytes (``None``: all false)."""
    if values is None:
        bits = np.zeros((n + 7) // 8, dtype=np.uint8)
    else:
        bits = np.packbits(np.asarray(values, dtype=np.bool_), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])


def _names(points: Sequence[str], counts: Sequence[int], n: int) -> pa.Array:
    """``source_address``: one dictionary entry a point, ``counts[i]`` indices ``i``."""
    if len(points) == 1:
        index = np.zeros(n, np.int32)
    else:
        index = np.repeat(np.arange(len(points), dtype=np.int32), counts)
    indices = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(index)])
    texts = [p.encode() for p in points]
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    data = pa.py_buffer(b"".join(texts))
    dictionary = pa.Array.from_buffers(pa.string(), len(texts), [None, pa.py_buffer(offsets), data])
    return pa.DictionaryArray.from_arrays(indices, dictionary)


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

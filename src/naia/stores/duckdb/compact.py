"""The store's compact rows: point and state names as integer ids, seq and the quality flags in
one integer.

DuckDB stores a VARCHAR column row by row before it compresses it, and analyses and compresses
each column apart: of scenario 2's insert (3.9 M rows, 100 points × 30 days), ``source_address``
cost ~0.4 CPU s, ``state`` (mostly NULL) ~0.2 and the four flags ~0.3 of 1.3–1.4. Written as
``naia_values`` (ts, point_id, value, state_id, seq_flags) the same rows cost ~0.6
(docs/performance.md, session of 2026-12-07). ``point_data`` is a view that joins the names
back and unpacks the bits: the columns and types of the design's data model, for every query.

``state_id`` 0 is "no state" (ids of names start at 1): a NOT NULL column, cheaper to store
than a nullable one; ``seq_flags`` = seq << 4 | annotated << 3 | substituted << 2 |
questionable << 1 | good.

Batches arrive in the pipeline's schema (naia.domain.schema.BATCH_SCHEMA) and are converted
here one at a time with NumPy on Arrow's buffers: no Python object per value, and neither
pyarrow.compute nor ``pa.array(ndarray)`` / ``Array.to_numpy``, whose first calls cost ~0.3 s
each (kernel registry; pandas imported).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from naia.domain.schema import TIMESTAMP_TYPE, codes_of, fixed_array

VALUES_SCHEMA = pa.schema(
    [
        pa.field("ts", TIMESTAMP_TYPE, nullable=False),
        pa.field("point_id", pa.uint32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("state_id", pa.uint32(), nullable=False),
        pa.field("seq_flags", pa.int32(), nullable=False),
    ]
)
FLAG_BITS = {"good": 1, "questionable": 2, "substituted": 4, "annotated": 8}
FLAGS_WIDTH = 4  # the low bits of seq_flags hold the flags, seq above them

U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]


class Names:
    """Ids of names (points or states) in the store, and those given out since the last
    ``settle``: they are written with the rows that use them, in the same transaction."""

    def __init__(self, known: Mapping[str, int], first: int = 0) -> None:
        self._ids = dict(known)
        self._next = max(self._ids.values(), default=first - 1) + 1
        self.new: dict[str, int] = {}

    def id_of(self, name: str) -> int:
        found = self._ids.get(name)
        if found is None:
            found = self._ids[name] = self._next
            self._next += 1
            self.new[name] = found
        return found

    def settle(self, *, committed: bool) -> None:
        """The transaction that wrote ``new`` ended: keep them, or forget them (rolled back)."""
        if not committed:
            for name in self.new:
                del self._ids[name]
            self._next -= len(self.new)
        self.new = {}


class Compacted:
    """The batches in the store's layout, counted as DuckDB pulls them; keeps the source's own
    exception (DuckDB reports its own in its place)."""

    def __init__(self, batches: Iterable[pa.RecordBatch], points: Names, states: Names) -> None:
        self._batches = iter(batches)
        self._points = points
        self._states = states
        self.values = 0
        self.batches = 0
        self.failure: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            batch = next(self._batches)
            out = compact(batch, self._points, self._states)
        except StopIteration:
            raise
        except BaseException as exc:
            self.failure = exc
            raise
        self.values += batch.num_rows
        self.batches += 1 if batch.num_rows else 0
        return out


def compact(batch: pa.RecordBatch, points: Names, states: Names) -> pa.RecordBatch:
    """One batch of BATCH_SCHEMA in VALUES_SCHEMA (``states`` give ids from 1)."""
    point_ids = codes_of(batch.column("source_address"), points.id_of)
    return pa.RecordBatch.from_arrays(
        [
            batch.column("ts"),
            fixed_array(pa.uint32(), point_ids, np.uint32),
            batch.column("value"),
            fixed_array(pa.uint32(), _state_ids(batch.column("state"), states), np.uint32),
            fixed_array(pa.int32(), _seq_flags(batch), np.int32),
        ],
        schema=VALUES_SCHEMA,
    )


def _seq_flags(batch: pa.RecordBatch) -> I32:
    seq = batch.column("seq")
    packed = np.frombuffer(seq.buffers()[1], np.int16, len(seq), seq.offset * 2).astype(np.int32)
    packed <<= FLAGS_WIDTH
    for name, bit in FLAG_BITS.items():
        flags = batch.column(name)
        true = flags.true_count  # counted in C: most columns are all false, `good` all true
        if true == len(flags):
            packed |= bit
        elif true:
            packed |= _bits(flags).astype(np.int32) << (bit.bit_length() - 1)
    return packed


def _state_ids(state: pa.Array, states: Names) -> U32:
    """Ids of the state names, 0 where there is none (most rows: numeric values)."""
    n = len(state)
    if state.null_count == n:
        return np.zeros(n, dtype=np.uint32)
    valid = _valid(state)
    offsets = np.frombuffer(state.buffers()[1], np.int32, n + 1, state.offset * 4)
    chars = state.buffers()[2]  # None when every string is empty
    data = memoryview(chars if chars is not None else b"")
    ids = np.zeros(n, dtype=np.uint32)
    for i in np.flatnonzero(valid).tolist():
        ids[i] = states.id_of(str(data[offsets[i] : offsets[i + 1]], "utf-8"))
    return ids


def _valid(array: pa.Array) -> npt.NDArray[np.bool_]:
    bitmap = array.buffers()[0]
    if bitmap is None:
        return np.ones(len(array), dtype=np.bool_)
    return _unpack(bitmap, array.offset, len(array)).astype(np.bool_)


def _bits(flags: pa.Array) -> U8:
    """A BOOLEAN column as 0/1 bytes (NULL as 0: the columns are NOT NULL)."""
    values = _unpack(flags.buffers()[1], flags.offset, len(flags))
    if flags.null_count:
        values &= _unpack(flags.buffers()[0], flags.offset, len(flags))
    return values


def _unpack(bitmap: pa.Buffer, offset: int, n: int) -> U8:
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[offset : offset + n]

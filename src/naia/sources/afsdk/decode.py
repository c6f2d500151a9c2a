"""AF SDK values → numpy columns of the batch schema.

Time: a .NET ``DateTime`` counts *ticks* of 100 ns since 0001-01-01. The batch schema stores UTC
microseconds since 1970-01-01, so ``ts_us = (ticks - EPOCH_TICKS) // 10``: the sub-microsecond
remainder (0–900 ns) is dropped, always towards the past. The PI archive resolves 1/65536 s
(~15 µs), so distinct archive timestamps stay distinct; nothing is rounded to milliseconds.

Cost: ``AFValues.GetValueArrays`` hands over three arrays (values, UTC timestamps, status flags)
instead of one AFValue proxy object per event. Read element by element through pythonnet that is
still one boxed number, one ``DateTime.Ticks`` and one status per event (~0.1 M values/s). With
the bulk helper (``AfSdk.bulk``, compiled by the loader) one .NET call turns the three arrays into
primitive ones that are copied into numpy whole; only states and strings are read one by one.
The per-value path stays as the fallback. Everything after that (status decoding, window cut,
seq numbering, Arrow) is vectorised numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from naia.domain.schema import seq_numbers
from naia.sources.afsdk.sdk import AFValues, BulkArrays, BulkReader, DateTime

EPOCH_TICKS = 621_355_968_000_000_000  # DateTime(1970, 1, 1).Ticks
TICKS_PER_US = 10

# AFValueStatus (a [Flags] enum of OSIsoft.AF.Asset)
BAD, QUESTIONABLE, GOOD = 0, 64, 192
QUALITY_MASK, SUBSTATUS_MASK = 192, 60
SUBSTITUTED_GOOD, SUBSTITUTED_QUESTIONABLE, SUBSTITUTED_BAD = 24, 8, 60
ANNOTATED = 32768

NUMBER_TYPES = frozenset({float, int})  # exact types: bool is not a number here
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def us_to_ticks(ts_us: int) -> int:
    return EPOCH_TICKS + ts_us * TICKS_PER_US


def ticks_to_us(ticks: I64) -> I64:
    """Floor to whole microseconds (also right before 1970: numpy floors negative values)."""
    return (ticks - EPOCH_TICKS) // TICKS_PER_US


@dataclass(frozen=True, slots=True)
class Columns:
    """One AFValues as columns, in the SDK's (time) order."""

    ts_us: I64
    value: F64
    state: list[str | None] | None  # None: every event is a number
    good: B
    questionable: B
    substituted: B
    annotated: B

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])

    def take(self, keep: B) -> Columns:
        state = None if self.state is None else [self.state[i] for i in np.flatnonzero(keep)]
        return Columns(
            self.ts_us[keep],
            self.value[keep],
            state,
            self.good[keep],
            self.questionable[keep],
            self.substituted[keep],
            self.annotated[keep],
        )


def columns(afvalues: AFValues, bulk: BulkReader | None = None) -> Columns:
    """Convert one AFValues through GetValueArrays (no AFValue object per event), in bulk when
    a bulk reader is given."""
    arrays = afvalues.GetValueArrays(None, None, None)
    values, timestamps, flags = arrays[-3], arrays[-2], arrays[-1]
    if bulk is not None:
        return bulk_columns(bulk(values, timestamps, flags), values)
    ts_us = ticks_to_us(_ticks(timestamps))
    status = np.fromiter(map(int, flags), dtype=np.int64, count=len(flags))
    value, state, is_system = split_values(values)
    good, questionable, substituted, annotated = decode_status(status)
    return Columns(ts_us, value, state, good & ~is_system, questionable, substituted, annotated)


def bulk_columns(arrays: BulkArrays, values: Sequence[object]) -> Columns:
    """Columns from the bulk helper's arrays; only the values that are not numbers are read."""
    ts_us = ticks_to_us(arrays.ticks)
    n = int(ts_us.shape[0])
    is_system = np.zeros(n, dtype=bool)
    state: list[str | None] | None = None
    if arrays.others.shape[0]:
        state = [None] * n
        for i in arrays.others.tolist():
            state[i], is_system[i] = _state_of(values[i])
    good, questionable, substituted, annotated = decode_status(arrays.status.astype(np.int64))
    return Columns(
        ts_us, arrays.numbers, state, good & ~is_system, questionable, substituted, annotated
    )


def _ticks(timestamps: Sequence[DateTime]) -> I64:
    ticks = map(attrgetter("Ticks"), timestamps)
    return np.fromiter(ticks, dtype=np.int64, count=len(timestamps))


def decode_status(status: I64) -> tuple[B, B, B, B]:
    """AFValueStatus → (IsGood, Questionable, Substituted, Annotated), as AFValue defines them.

    IsGood is "quality is not Bad" (a questionable value is good); the Substituted sub-status has
    a different value under each quality.
    """
    quality = status & QUALITY_MASK
    sub = status & SUBSTATUS_MASK
    substituted = (
        ((quality == GOOD) & (sub == SUBSTITUTED_GOOD))
        | ((quality == QUESTIONABLE) & (sub == SUBSTITUTED_QUESTIONABLE))
        | ((quality == BAD) & (sub == SUBSTITUTED_BAD))
    )
    return quality != BAD, quality == QUESTIONABLE, substituted, (status & ANNOTATED) != 0


def split_values(values: Sequence[object]) -> tuple[F64, list[str | None] | None, B]:
    """Numbers to ``value``; digital/system states (and strings) to ``state``.

    Returns (value, state or None when all are numbers, is_system).
    """
    items = list(values)
    n = len(items)
    is_system = np.zeros(n, dtype=bool)
    if set(map(type, items)) <= NUMBER_TYPES:  # the common case: one C-level pass each
        return np.fromiter(items, dtype=np.float64, count=n), None, is_system
    numeric = np.fromiter(map(NUMBER_TYPES.__contains__, map(type, items)), dtype=bool, count=n)
    value = np.full(n, np.nan)
    number_at = np.flatnonzero(numeric)
    value[number_at] = np.fromiter((items[i] for i in number_at), dtype=np.float64)
    state: list[str | None] = [None] * n
    for i in np.flatnonzero(~numeric):
        state[i], is_system[i] = _state_of(items[i])
    return value, state, is_system


def _state_of(value: object) -> tuple[str, bool]:
    """(name, is a system state) of an AFEnumerationValue; a string value is kept as is."""
    if isinstance(value, str):
        return value, False
    name = getattr(value, "Name", None)
    if name is None:
        return str(value), False
    return str(name), bool(getattr(value, "IsSystem", False))


def continued_seq(ts_us: I64, previous: tuple[int, int] | None) -> npt.NDArray[np.int16]:
    """``seq`` of sorted events, continuing the numbering of the point's previous chunk.

    ``previous`` is (last ts, last seq) of the values already taken for this point, so a run of
    same-timestamp events split across two AFValues is numbered 0, 1, 2… without a restart.
    """
    seq = seq_numbers(ts_us)
    if previous is None or ts_us.shape[0] == 0 or int(ts_us[0]) != previous[0]:
        return seq
    run = int(np.searchsorted(ts_us, ts_us[0], side="right"))
    seq[:run] += previous[1] + 1
    return seq

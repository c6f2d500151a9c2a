"""Vectorised JSON for TimedValue arrays: no dict per value, two small byte strings per value.

An array ``[{…},{…}]`` is cut into pieces that each end with exactly one variable part:

* ``A_i`` = the constant end of item i-1 (it depends on that item's Good) + ``,{"Timestamp":"`` +
  the timestamp text. Written as ASCII into a uint8 matrix by table look-ups and NUL-padded, so
  ``tolist()`` gives each row without its padding (the fraction has no trailing zeros, and
  whole seconds have none).
* ``V_i`` = ``Z","Value":`` + the value text: msgspec's shortest round-trip repr of every float at
  once, split; state values are pre-rendered objects picked by index.

The pieces are interleaved by slice assignment and joined once. ``selectedFields`` subsets use the
same scheme with some parts left out.
"""

from __future__ import annotations

import functools
from typing import cast

import msgspec
import numpy as np
import numpy.typing as npt

from naia.sources.simulator.generate import Events

TIMED_VALUE_FIELDS = (
    "Timestamp",
    "Value",
    "UnitsAbbreviation",
    "Good",
    "Questionable",
    "Substituted",
    "Annotated",
)
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
_TS_WIDTH = 27  # YYYY-MM-DDTHH:MM:SS.fffffff (7 digits: PI resolves 100 ns)
_FALSE_FLAGS = ("Questionable", "Substituted", "Annotated")
_SEP = b"\x00"
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

_encode = msgspec.json.Encoder().encode


def json_bytes(value: object) -> bytes:
    return _encode(value)


def timed_values(
    events: Events, units: str, fields: tuple[str, ...], sub: I64 | None = None
) -> bytes:
    """``[{"Timestamp":…,"Value":…,…},…]`` keeping only ``fields`` (in canonical order).

    ``sub``: each timestamp's 100-ns ticks past its microsecond (0–9), written as a 7th digit."""
    n = len(events)
    if n == 0:
        return b"[]"
    has_ts, has_value = "Timestamp" in fields, "Value" in fields
    head = b'{"Timestamp":"' if has_ts else b"{"
    rest = [_rest(fields, units, good, has_ts, has_value) for good in (False, True)]
    joins = [r + b"," + head for r in rest]
    prev_good = np.empty(n, dtype=bool)
    prev_good[0] = True
    prev_good[1:] = events.good[:-1]
    if has_ts:
        starts = _stamped_starts(events.ts_us, joins, prev_good, sub)
    else:
        starts = np.array(joins, dtype=object)[prev_good.astype(np.intp)].tolist()
    starts[0] = b"[" + starts[0][len(rest[1]) + 1 :]
    last = rest[int(events.good[-1])] + b"]"
    if not has_value:
        return b"".join(starts) + last
    lead = b'Z","Value":' if has_ts else b'"Value":'
    out: list[bytes] = [b""] * (2 * n + 1)
    out[0 : 2 * n : 2] = starts
    out[1 : 2 * n : 2] = value_pieces(events, lead)
    out[2 * n] = last
    return b"".join(out)


def _rest(fields: tuple[str, ...], units: str, good: bool, has_ts: bool, has_value: bool) -> bytes:
    """The constant end of an item, from after its last variable part to its closing brace."""
    text = b'Z"' if has_ts and not has_value else b""
    first = not (has_ts or has_value)
    consts: list[tuple[str, bytes]] = [("UnitsAbbreviation", json_bytes(units))]
    consts.append(("Good", b"true" if good else b"false"))
    consts.extend((name, b"false") for name in _FALSE_FLAGS)
    for name, literal in consts:
        if name in fields:
            text += (b'"' if first else b',"') + name.encode() + b'":' + literal
            first = False
    return text + b"}"


def value_pieces(events: Events, lead: bytes) -> list[bytes]:
    """``lead`` + JSON text of each Value: a shortest round-trip number, or a state object."""
    state = events.state_index >= 0
    any_state = bool(state.any())
    numbers = np.where(state, 0.0, events.value) if any_state else events.value
    text = _encode(numbers.tolist())[1:-1]
    pieces = (lead + text.replace(b",", _SEP + lead)).split(_SEP)
    if not any_state:
        return pieces
    objects = np.array([lead + o for o in _state_objects(events)], dtype=object)
    picks = events.state_index.astype(np.intp) * 2 + events.is_system.astype(np.intp)
    if bool(state.all()):
        return cast(list[bytes], objects[picks].tolist())
    rows = np.flatnonzero(state)
    for row, text in zip(rows.tolist(), objects[picks[rows]].tolist(), strict=True):
        pieces[row] = text
    return pieces


def _state_objects(events: Events) -> list[bytes]:
    """For state index i: [2i] as a non-system state, [2i+1] as a system state."""
    out: list[bytes] = []
    for name, code in zip(events.state_names, events.state_codes.tolist(), strict=True):
        for system in (b"false", b"true"):
            out.append(
                b'{"Name":' + json_bytes(name) + b',"Value":' + str(code).encode()
                + b',"IsSystem":' + system + b"}"
            )  # fmt: skip
    return out


def _stamped_starts(
    ts_us: I64, joins: list[bytes], prev_good: npt.NDArray[np.bool_], sub: I64 | None
) -> list[bytes]:
    """Rows ``joins[prev_good] + timestamp text``, NUL-padded, as bytes without the padding."""
    n = ts_us.shape[0]
    major = int(np.count_nonzero(prev_good) * 2 >= n)
    offset = len(joins[major])
    width = max(len(j) for j in joins) + _TS_WIDTH
    mat = np.zeros((n, width), dtype=np.uint8)
    mat[:, :offset] = np.frombuffer(joins[major], dtype=np.uint8)
    write_timestamps(ts_us, mat, offset, sub)
    minor = np.flatnonzero(prev_good != bool(major))
    if minor.size:
        stamps = mat[minor, offset : offset + _TS_WIDTH].copy()
        other = len(joins[1 - major])
        mat[minor] = 0
        mat[minor, :other] = np.frombuffer(joins[1 - major], dtype=np.uint8)
        mat[minor, other : other + _TS_WIDTH] = stamps
    return cast(list[bytes], mat.view(f"S{width}").ravel().tolist())


def write_timestamps(ts_us: I64, mat: U8, col: int, sub: I64 | None = None) -> None:
    """Write ``YYYY-MM-DDTHH:MM:SS[.fraction]`` at ``col``; a trimmed fraction leaves NULs.

    ``sub`` (0–9 per value) adds the 7th fractional digit, 100 ns."""
    days = ts_us // US_PER_DAY
    of_day = ts_us - days * US_PER_DAY
    seconds = of_day // US_PER_S
    micro = of_day - seconds * US_PER_S
    tables = _tables()
    milli, rest = micro // 1_000, micro % 1_000 * 10
    if sub is not None:
        rest = rest + sub
    dates, index = _dates(days)
    _put(mat, col, dates, index)
    _put(mat, col + 10, tables.seconds, seconds)
    _put(mat, col + 19, tables.fraction_head, milli + 1_000 * (rest != 0))
    _put(mat, col + 23, tables.fraction_tail, rest)


def _put(mat: U8, col: int, table: U8, index: I64) -> None:
    """``mat[:, col:col+w] = table[index]``, copying rows as fixed-size byte strings."""
    width = table.shape[1]
    target = mat[:, col : col + width].view(f"S{width}")[:, 0]
    target[:] = table.view(f"S{width}")[:, 0][index]


def _dates(days: I64) -> tuple[U8, I64]:
    """A table of ``YYYY-MM-DD`` rows and each value's row in it."""
    low, high = int(days.min()), int(days.max())
    if high - low <= days.shape[0]:
        return _date_table(np.arange(low, high + 1, dtype=np.int64)), days - low
    unique_days, inverse = np.unique(days, return_inverse=True)
    return _date_table(unique_days), inverse


def _date_table(days: I64) -> U8:
    year, month, day = civil_from_days(days)
    text = "".join(
        f"{y:04d}-{m:02d}-{d:02d}"
        for y, m, d in zip(year.tolist(), month.tolist(), day.tolist(), strict=True)
    )
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(-1, 10)


class _Tables:
    """Look-up tables: ``THH:MM:SS`` per second of day; the fraction in two trimmed halves."""

    def __init__(self) -> None:
        s = np.arange(86_400)
        self.seconds = _ascii_rows(
            [("T", None), (s // 3_600, 2), (":", None), (s // 60 % 60, 2), (":", None), (s % 60, 2)]
        )
        head = [f".{i:03d}" for i in range(1_000)]  # milliseconds when more digits follow
        trimmed = ["." + f"{i:03d}".rstrip("0") if i else "" for i in range(1_000)]
        self.fraction_head = _padded(trimmed + head, 4)
        # the last four digits (µs and 100 ns), trimmed
        self.fraction_tail = _padded([f"{i:04d}".rstrip("0") for i in range(10_000)], 4)


def _ascii_rows(parts: list[tuple[object, int | None]]) -> U8:
    columns: list[U8] = []
    for part, width in parts:
        if width is None:
            columns.append(np.full((86_400, 1), ord(str(part)), dtype=np.uint8))
            continue
        values = np.asarray(part)
        digits = [(values // 10**k % 10 + 48).astype(np.uint8) for k in range(width - 1, -1, -1)]
        columns.append(np.stack(digits, axis=1))
    return np.ascontiguousarray(np.concatenate(columns, axis=1))


def _padded(texts: list[str], width: int) -> U8:
    raw = "".join(t.ljust(width, "\x00") for t in texts).encode("ascii")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, width)


@functools.cache
def _tables() -> _Tables:
    return _Tables()


def timestamp_texts(ts_us: I64, sub: I64 | None = None) -> list[bytes]:
    """``YYYY-MM-DDTHH:MM:SS`` plus the fraction without trailing zeros (none if whole), no Z."""
    mat = np.zeros((ts_us.shape[0], _TS_WIDTH), dtype=np.uint8)
    write_timestamps(ts_us, mat, 0, sub)
    return cast(list[bytes], mat.view(f"S{_TS_WIDTH}").ravel().tolist())


def format_us(ts_us: int) -> str:
    """One timestamp as PI Web API writes it: UTC, ``Z``, fraction only when non-zero."""
    return timestamp_texts(np.array([ts_us], dtype=np.int64))[0].decode("ascii") + "Z"


def format_ticks(ticks: int) -> str:
    """A time in 100-ns ticks since the epoch, as PI Web API writes it (up to 7 digits)."""
    us, sub = divmod(ticks, 10)
    stamps = timestamp_texts(np.array([us], dtype=np.int64), np.array([sub], dtype=np.int64))
    return stamps[0].decode("ascii") + "Z"


def civil_from_days(days: I64) -> tuple[I64, I64, I64]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01 (H. Hinnant's algorithm)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day

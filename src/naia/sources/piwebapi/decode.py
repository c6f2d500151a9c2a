"""PI Web API JSON → numpy/Arrow columns, fast.

Bodies are decoded by typed msgspec Structs (``gc=False``): ``Value`` is a union, so numbers,
digital/system states (``{"Name","Value","IsSystem"}``), strings and nulls all decode in one pass.
Columns are then pulled out with one list comprehension each; the common all-numbers page goes
straight into a float64 buffer, and only pages holding states take a second, per-state pass.
Timestamps stay strings until a vectorised Arrow cast (``...Z``, no fraction or up to 7
fractional digits) to nanoseconds, floored to microseconds.

A decode that fails because the bytes are not JSON (a truncated body) raises
``msgspec.DecodeError``; one that fails because the JSON has an unexpected shape raises
``msgspec.ValidationError`` (a subclass): callers retry the first and give up on the second.

Stream values are read in two steps: msgspec decodes the envelope (streams, WebIds,
WebExceptions, batch statuses) and keeps each ``Items`` array as raw bytes; then
``stream_columns`` hands those bytes to ``_items`` (C, built by ``make install``), which writes
the columns directly — no Python object per value. Any array it does not read exactly (another
timestamp form, an escaped string, an unexpected type, or the module not built) is decoded the
per-value way below (``columns``), which gives the exact result or the exact error.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from naia.domain.timeparse import to_us

try:
    from naia.sources.piwebapi import _items
except ImportError:  # not built (a checkout without `make install`): the per-value path only
    _items = None  # type: ignore[assignment]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_NS_UTC = pa.timestamp("ns", tz="UTC")
_NAN = float("nan")
_SPARSE_STATES = 64  # states handled one by one before the page is judged dense …
_DENSE = 8  # … which it is when more than one value in 8 is a state
_Z = ord("Z")


class State(msgspec.Struct, gc=False):
    """A digital or system state: ``{"Name": "I/O Timeout", "Value": 246, "IsSystem": true}``."""

    Name: str = ""
    Value: int | None = None
    IsSystem: bool = False


class WebException(msgspec.Struct, gc=False):
    """A failure reported inside a 200 (on the body or on one stream)."""

    StatusCode: int = 0
    Errors: list[str] = []


RawValue = float | bool | str | State | None


class TimedValue(msgspec.Struct, gc=False):
    Timestamp: str
    Value: RawValue = None
    Good: bool = True
    Questionable: bool = False
    Substituted: bool = False
    Annotated: bool = False


_NO_ITEMS = msgspec.Raw(b"[]")


class StreamValues(msgspec.Struct, gc=False):
    """One stream's values (``/streams/{id}/recorded`` or one item of a streamset); ``Items``
    stays raw JSON until ``stream_columns`` reads it."""

    Items: msgspec.Raw = _NO_ITEMS
    WebId: str | None = None
    WebException: WebException | None = None
    Errors: list[str] | None = None
    Message: str | None = None


class StreamSet(msgspec.Struct, gc=False):
    """``/streamsets/recorded``: one StreamValues per requested WebId, in request order."""

    Items: list[StreamValues] = []
    WebException: WebException | None = None


class BatchResponse(msgspec.Struct, gc=False):
    """One sub-response of ``POST /batch``; failed ones carry a string or ``{"Errors"}``."""

    Status: int
    Headers: dict[str, str] = {}
    Content: StreamValues | str | None = None


class PointObject(msgspec.Struct, gc=False):
    WebId: str = ""
    Name: str | None = None


class Errors(msgspec.Struct, gc=False):
    Errors: list[str] = []


class PointItem(msgspec.Struct, gc=False):
    """One item of ``/points/multiple``: ``Object`` when found, else ``Exception``."""

    Identifier: str | None = None
    Object: PointObject | None = None
    Exception: Errors | None = None


class PointItems(msgspec.Struct, gc=False):
    Items: list[PointItem] = []
    WebException: WebException | None = None


class ErrorBody(msgspec.Struct, gc=False):
    """Error bodies: ``{"Errors": [...]}`` or ``{"Message": "..."}``."""

    Errors: list[str] | None = None
    Message: str | None = None


ITEMS = msgspec.json.Decoder(list[TimedValue])
STREAMSET = msgspec.json.Decoder(StreamSet)
STREAM = msgspec.json.Decoder(StreamValues)
BATCH = msgspec.json.Decoder(dict[str, BatchResponse])
POINTS = msgspec.json.Decoder(PointItems)
_ERROR_BODY = msgspec.json.Decoder(ErrorBody)


@dataclass(frozen=True, slots=True)
class Columns:
    """One stream page as columns; ``state`` is an Arrow string array (nulls for numbers)."""

    ts_us: I64
    value: F64
    state: pa.Array
    good: Bools
    questionable: Bools
    substituted: Bools
    annotated: Bools

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])

    def slice(self, start: int, stop: int) -> Columns:
        return Columns(
            self.ts_us[start:stop],
            self.value[start:stop],
            self.state.slice(start, stop - start),
            self.good[start:stop],
            self.questionable[start:stop],
            self.substituted[start:stop],
            self.annotated[start:stop],
        )


def stream_columns(items: msgspec.Raw) -> Columns:
    """Columns of one raw ``Items`` array: in C when it can, else the per-value way."""
    fast = _fast_columns(items)
    return fast if fast is not None else columns(ITEMS.decode(items))


def streamset_columns(body: bytes | memoryview) -> list[tuple[str | None, Columns]] | None:
    """(WebId, columns) of every stream of a plain ``/streamsets/recorded`` body, read in C in
    one pass; None when the module is not built or the body is not the plain success shape
    (any WebException, Errors, Message, an array it does not read exactly): decode it with
    ``STREAMSET`` then."""
    if _items is None:
        return None
    decoded = _items.streamset(body)
    return None if decoded is None else [(key, _columns_of(cols)) for key, cols in decoded]


def batch_columns(body: bytes | memoryview) -> dict[str, Columns] | None:
    """Columns of every sub-request of a ``POST /batch`` body whose sub-responses are all 200
    recorded reads, by name; None otherwise (decode it with ``BATCH`` then)."""
    if _items is None:
        return None
    decoded = _items.batch(body)
    if decoded is None:
        return None
    out = {key: _columns_of(cols) for key, cols in decoded if key is not None}
    return out if len(out) == len(decoded) else None


def _fast_columns(items: msgspec.Raw) -> Columns | None:
    if _items is None:
        return None
    decoded = _items.decode(items)
    return None if decoded is None else _columns_of(decoded)


def _columns_of(decoded: _items.Decoded) -> Columns:
    n, ts_us, value, good, questionable, substituted, annotated, rare, states = decoded
    if rare:
        flags = tuple(
            np.frombuffer(f, dtype=np.bool_) for f in (questionable, substituted, annotated)
        )
    else:
        falses = np.zeros(n, dtype=np.bool_)
        flags = (falses, falses, falses)
    if states is None:
        state = pa.nulls(n, type=pa.string())
    else:
        buffers = [pa.py_buffer(b) for b in states]
        state = pa.Array.from_buffers(pa.string(), n, buffers)
    return Columns(
        np.frombuffer(ts_us, dtype=np.int64),
        np.frombuffer(value, dtype=np.float64),
        state,
        np.frombuffer(good, dtype=np.bool_),
        *flags,
    )


def columns(items: list[TimedValue]) -> Columns:
    """Columns of one stream's values (no Python object per value survives this call)."""
    n = len(items)
    value, state = _values([t.Value for t in items])
    good = _bools([t.Good for t in items])
    questionable, substituted, annotated = _rare_flags(items, n)
    return Columns(
        timestamps_us([t.Timestamp for t in items]),
        value,
        state,
        good,
        questionable,
        substituted,
        annotated,
    )


def _bools(flags: list[bool]) -> Bools:
    return np.frombuffer(bytes(flags), dtype=np.bool_)


def _rare_flags(items: list[TimedValue], n: int) -> tuple[Bools, Bools, Bools]:
    """Questionable/Substituted/Annotated: almost always false, so test all three at once."""
    if True not in [t.Questionable or t.Substituted or t.Annotated for t in items]:
        falses = np.zeros(n, dtype=np.bool_)
        return falses, falses, falses
    return (
        _bools([t.Questionable for t in items]),
        _bools([t.Substituted for t in items]),
        _bools([t.Annotated for t in items]),
    )


def _values(values: list[RawValue]) -> tuple[F64, pa.Array]:
    """Numbers → float64 (states, strings, nulls → NaN, made NULL later); names → ``state``."""
    try:
        # Arrow takes floats, the rare bool and nulls (→ NaN) and refuses states and strings.
        numbers: F64 = pa.array(values, type=pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return _mixed_values(values)
    return numbers, pa.nulls(len(values), type=pa.string())


def _mixed_values(values: list[RawValue]) -> tuple[F64, pa.Array]:
    """A page holding states: numbers go on in C until the next non-number, which is handled
    alone; a page dense in states (a digital point) finishes in one Python loop instead."""
    numbers = array("d")
    names: list[str | None] = [None] * len(values)
    rest = iter(cast(list[float], values))
    odd = 0
    while True:
        try:
            numbers.extend(rest)  # stops after consuming the first non-number
            break
        except TypeError:
            i = len(numbers)
            numbers.append(_odd_value(values[i], names, i))
            odd += 1
            if odd > _SPARSE_STATES and odd * _DENSE > i:
                _dense_values(values, i + 1, numbers, names)
                break
    return np.frombuffer(numbers, dtype=np.float64), pa.array(names, pa.string())


def _dense_values(
    values: list[RawValue], start: int, numbers: array[float], names: list[str | None]
) -> None:
    for i in range(start, len(values)):
        item = values[i]
        numbers.append(item if type(item) is float else _odd_value(item, names, i))


def _odd_value(item: RawValue, names: list[str | None], i: int) -> float:
    """NaN for a state (its name into ``names``), a string or a null; a bool as 0/1."""
    if isinstance(item, State):
        names[i] = item.Name
        return _NAN
    if isinstance(item, str):
        names[i] = item
        return _NAN
    return _NAN if item is None else float(item)


def timestamps_us(stamps: list[str]) -> I64:
    """ISO-8601 UTC strings → µs since the epoch (sub-µs digits floored away)."""
    if not stamps:
        return np.zeros(0, dtype=np.int64)
    import pyarrow.compute as pc  # the per-value path only: its import costs ~30 ms

    try:
        ns = pc.cast(_string_array(stamps), _NS_UTC)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeEncodeError):
        return np.fromiter((_slow_timestamp_us(s) for s in stamps), np.int64, len(stamps))
    raw: I64 = ns.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return raw // 1000


def _string_array(stamps: list[str]) -> pa.Array:
    """An Arrow string array over one joined buffer, split after each ``Z``.

    Cheaper than converting each str; when the strings do not each end in their only ``Z``
    (an offset instead of ``Z``), fall back to the per-string conversion.
    """
    data = "".join(stamps).encode("ascii")
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _Z)
    if ends.shape[0] != len(stamps):
        return pa.array(stamps, type=pa.string())
    offsets = np.empty(len(stamps) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:] = ends + 1
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(stamps), buffers)


_STAMP = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$", re.ASCII
)


def _slow_timestamp_us(text: str) -> int:
    """One timestamp outside the fast path (years past 2262, an offset instead of Z)."""
    match = _STAMP.match(text)
    if match is None:
        raise msgspec.ValidationError(f"not a PI Web API timestamp: {text!r}")
    zone = "+00:00" if match[3] == "Z" else match[3]
    try:
        whole = datetime.fromisoformat(match[1] + zone)
    except ValueError as exc:  # a day or hour out of range: the server's fault, not ours
        raise msgspec.ValidationError(f"not a PI Web API timestamp: {text!r} ({exc})") from exc
    micro = int((match[2] or "0").ljust(6, "0")[:6])
    return to_us(whole) + micro


def error_message(body: bytes, limit: int = 500) -> str:
    """The server's own words from an error body (``Errors`` or ``Message``), else the text."""
    try:
        parsed = _ERROR_BODY.decode(body)
    except msgspec.DecodeError:
        return body[:limit].decode("utf-8", "replace").strip()
    if parsed.Errors:
        return "; ".join(parsed.Errors)[:limit]
    if parsed.Message:
        return parsed.Message[:limit]
    return body[:limit].decode("utf-8", "replace").strip()

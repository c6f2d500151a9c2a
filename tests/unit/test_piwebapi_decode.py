"""Decoding PI Web API bodies into columns: numbers, states, flags, timestamps, bad bodies."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import pytest

from naia.domain.timeparse import to_us
from naia.sources.piwebapi import decode
from naia.sources.piwebapi.decode import (
    BATCH,
    ITEMS,
    STREAM,
    STREAMSET,
    Columns,
    StreamValues,
    columns,
    error_message,
    stream_columns,
    timestamps_us,
)


def _stream(items: str) -> StreamValues:
    return STREAM.decode(f'{{"Items":[{items}],"UnitsAbbreviation":"","Links":{{}}}}'.encode())


@pytest.fixture(params=["compiled", "per_value"])
def read(request: pytest.FixtureRequest) -> Callable[[str], Columns]:
    """Decode an Items array both ways: the compiled reader (which must take it) and the
    per-value path it falls back to; every test below holds for both."""

    def compiled(items: str) -> Columns:
        cols = decode._fast_columns(_stream(items).Items)
        assert cols is not None, "the compiled reader refused this page"
        return cols

    def per_value(items: str) -> Columns:
        return columns(ITEMS.decode(_stream(items).Items))

    return compiled if request.param == "compiled" else per_value


def test_the_compiled_reader_is_built() -> None:
    assert decode._items is not None, "run `make install` to build naia.sources.piwebapi._items"


def _us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_numbers_stay_exactly_as_in_json(read: Callable[[str], Columns]) -> None:
    cols = read(
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":0.1,"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:01Z","Value":12,"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:02Z","Value":-1.7976931348623157e308,"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:03Z","Value":5e-324,"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:04Z","Value":47.57341766357422,"Good":true}'
    )
    assert cols.value.tolist() == [0.1, 12.0, -1.7976931348623157e308, 5e-324, 47.57341766357422]
    assert cols.state.null_count == 5
    assert cols.good.all()
    assert not cols.questionable.any()


def test_digital_and_system_states_map_to_state_with_null_value(
    read: Callable[[str], Columns],
) -> None:
    cols = read(
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":1.5,"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:01Z",'
        '"Value":{"Name":"Active","Value":1,"IsSystem":false},"Good":true},'
        '{"Timestamp":"2020-01-01T00:00:02Z",'
        '"Value":{"Name":"Pt Created","Value":253,"IsSystem":true},"Good":false},'
        '{"Timestamp":"2020-01-01T00:00:03Z","Value":"hello","Good":true},'
        '{"Timestamp":"2020-01-01T00:00:04Z","Value":null,"Good":false},'
        '{"Timestamp":"2020-01-01T00:00:05Z","Value":true,"Good":true}'
    )
    assert np.isnan(cols.value[1:5]).all()
    assert cols.value[0] == 1.5
    assert cols.value[5] == 1.0
    assert cols.state.to_pylist() == [None, "Active", "Pt Created", "hello", None, None]
    assert cols.good.tolist() == [True, True, False, True, False, True]


def test_all_digital_page(read: Callable[[str], Columns]) -> None:
    items = ",".join(
        f'{{"Timestamp":"2020-01-01T00:00:0{i}Z","Value":{{"Name":"Phase{i}","Value":{i}}}}}'
        for i in range(5)
    )
    cols = read(items)
    assert cols.state.to_pylist() == [f"Phase{i}" for i in range(5)]
    assert np.isnan(cols.value).all()


def test_quality_flags(read: Callable[[str], Columns]) -> None:
    cols = read(
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":1,"Questionable":true},'
        '{"Timestamp":"2020-01-01T00:00:01Z","Value":2,"Substituted":true},'
        '{"Timestamp":"2020-01-01T00:00:02Z","Value":3,"Annotated":true},'
        '{"Timestamp":"2020-01-01T00:00:03Z","Value":4}'
    )
    assert cols.questionable.tolist() == [True, False, False, False]
    assert cols.substituted.tolist() == [False, True, False, False]
    assert cols.annotated.tolist() == [False, False, True, False]
    assert cols.good.all()  # Good defaults to true when the field is not sent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00+00:00"),
        ("2020-01-01T00:00:08.5Z", "2020-01-01T00:00:08.500000+00:00"),
        ("2020-01-01T00:00:08.875762Z", "2020-01-01T00:00:08.875762+00:00"),
        ("2020-01-01T00:00:08.8757629Z", "2020-01-01T00:00:08.875762+00:00"),  # truncated
        ("2020-01-01T00:00:08.0000009Z", "2020-01-01T00:00:08+00:00"),
        ("1999-12-31T23:59:59.9999999Z", "1999-12-31T23:59:59.999999+00:00"),
        ("2300-01-01T00:00:00.1234567Z", "2300-01-01T00:00:00.123456+00:00"),  # past ns range
        ("2020-01-01T01:00:00.25+01:00", "2020-01-01T00:00:00.250000+00:00"),
    ],
)
def test_timestamps(text: str, expected: str) -> None:
    assert timestamps_us([text]).tolist() == [_us(expected)]


def test_mixed_timestamps_in_one_page() -> None:
    stamps = ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00.1234567Z", "2020-01-01T00:00:01Z"]
    got = timestamps_us(stamps)
    base = _us("2020-01-01T00:00:00+00:00")
    assert got.tolist() == [base, base + 123_456, base + 1_000_000]
    assert got.dtype == np.int64
    assert timestamps_us([]).shape == (0,)


@pytest.mark.parametrize("text", ["yesterday", "2020-02-30T00:00:00Z", "2020-01-01T24:00:00Z"])
def test_a_bad_timestamp_is_a_validation_error(text: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="not a PI Web API timestamp"):
        timestamps_us([text])


def test_truncated_body_is_a_decode_error_not_a_validation_error() -> None:
    body = b'{"Items":[{"WebId":"x","Items":[{"Timestamp":"2020-01-01T00:00:00Z","Val'
    with pytest.raises(msgspec.DecodeError) as info:
        STREAMSET.decode(body)
    assert not isinstance(info.value, msgspec.ValidationError)


@pytest.mark.parametrize(
    "item",
    [
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":[1,2]}',
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":1e400}',
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":1,"Good":null}',
        '{"Timestamp":"2020-01-01T00:00:00Z","Value":{"Name":"A","Value":1.5}}',
        '{"Timestamp":"2020-02-30T00:00:00Z","Value":1}',
        '{"Value":1}',
    ],
)
def test_unexpected_value_shape_is_a_validation_error(item: str) -> None:
    raw = _stream(item).Items
    assert decode._fast_columns(raw) is None
    with pytest.raises(msgspec.ValidationError):
        stream_columns(raw)


def test_streamset_and_web_exceptions() -> None:
    body = (
        b'{"Items":[{"WebId":"A","Items":[]},'
        b'{"WebId":"B","Items":[],"WebException":{"StatusCode":502,"Errors":["bad gateway"]}}],'
        b'"Links":{}}'
    )
    streamset = STREAMSET.decode(body)
    assert streamset.WebException is None
    exc = streamset.Items[1].WebException
    assert exc is not None
    assert (exc.StatusCode, exc.Errors) == (502, ["bad gateway"])


def test_batch_sub_responses_with_string_or_object_content() -> None:
    body = (
        b'{"1":{"Status":200,"Headers":{},"Content":{"Items":[{"Timestamp":"2020-01-01T00:00:00Z",'
        b'"Value":3}]}},"2":{"Status":409,"Content":"parent failed"},'
        b'"3":{"Status":503,"Headers":{"Retry-After":"3"},"Content":{"Errors":["busy"]}}}'
    )
    batch = BATCH.decode(body)
    first = batch["1"].Content
    assert isinstance(first, StreamValues)
    assert stream_columns(first.Items).value.tolist() == [3.0]
    assert batch["2"].Content == "parent failed"
    third = batch["3"].Content
    assert isinstance(third, StreamValues)
    assert third.Errors == ["busy"]
    assert batch["3"].Headers == {"Retry-After": "3"}


def test_error_message() -> None:
    assert error_message(b'{"Errors":["a","b"]}') == "a; b"
    assert error_message(b'{"Message":"Authorization has been denied."}') == (
        "Authorization has been denied."
    )
    assert error_message(b"<html>gateway</html>") == "<html>gateway</html>"
    assert error_message(b"{}") == "{}"


def test_timestamps_are_utc_microseconds() -> None:
    got = timestamps_us(["2026-01-09T00:00:00Z"])
    assert got[0] == to_us(datetime(2026, 1, 9, tzinfo=UTC))


def test_stamps_split_wrongly_by_their_z_are_still_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        timestamps_us(["2020-01-01T00:00:00", "ZZ"])  # two Z for two strings, neither valid
    with pytest.raises(msgspec.ValidationError):
        timestamps_us(["2020-01-01T00:00:00Zé"])


def _reference(values: list[object]) -> tuple[list[float | None], list[str | None]]:
    numbers: list[float | None] = []
    names: list[str | None] = []
    for v in values:
        if isinstance(v, dict):
            numbers.append(None)
            names.append(v["Name"])
        elif isinstance(v, str):
            numbers.append(None)
            names.append(v)
        else:
            numbers.append(None if v is None else float(v))  # type: ignore[arg-type]
            names.append(None)
    return numbers, names


@pytest.mark.parametrize("pattern", ["sparse", "dense_tail", "all_states", "mixed_kinds"])
def test_values_of_every_mix_match_a_plain_reference(
    pattern: str, read: Callable[[str], Columns]
) -> None:
    values: list[object] = []
    for i in range(1000):
        state = {"Name": f"S{i % 7}", "Value": i % 7, "IsSystem": False}
        if pattern == "sparse":
            values.append(state if i % 97 == 5 else i * 0.5)
        elif pattern == "dense_tail":
            values.append(state if (i > 400 or i % 9 == 0) else i * 0.25)
        elif pattern == "all_states":
            values.append(state)
        else:
            values.append([i * 1.5, state, f"text{i}", None, True, False, i][i % 7])
    items = ",".join(
        f'{{"Timestamp":"2020-01-01T00:00:00Z","Value":{msgspec.json.encode(v).decode()}}}'
        for v in values
    )
    cols = read(items)
    numbers, names = _reference(values)
    got = [None if np.isnan(x) else x for x in cols.value.tolist()]
    assert got == numbers
    assert cols.state.to_pylist() == names


def _same(a: Columns, b: Columns) -> None:
    assert a.ts_us.tolist() == b.ts_us.tolist()
    assert a.value.tobytes() == b.value.tobytes()  # bit for bit, NaNs and -0.0 included
    assert a.state.to_pylist() == b.state.to_pylist()
    for name in ("good", "questionable", "substituted", "annotated"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name


def _random_number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return repr(rng.uniform(-1e6, 1e6))
    if kind == 1:
        return str(rng.randrange(-(10**20), 10**20))
    if kind == 2:  # many digits and exponents: the strtod path
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 25)))
        return f"{rng.choice(['', '-'])}0.{digits}e{rng.randrange(-330, 300)}"
    if kind == 3:
        return repr(rng.choice([0.0, -0.0, 5e-324, 1.7976931348623157e308, 2.0**53 + 2]))
    if kind == 4:
        return f"{rng.randrange(10**6)}.{rng.randrange(10**9):09d}"
    return repr(struct.unpack("<d", rng.randbytes(8))[0]).replace("nan", "1").replace("inf", "2")


def _random_stamp(rng: random.Random) -> str:
    us = rng.randrange(
        to_us(datetime(1, 1, 1, tzinfo=UTC)), to_us(datetime(9999, 1, 1, tzinfo=UTC))
    )
    if rng.random() < 0.7:
        us = rng.randrange(to_us(datetime(1969, 1, 1, tzinfo=UTC)), 2**62 // 1000)
    whole = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    text = whole.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    digits = rng.randrange(10)
    frac = "".join(rng.choice("0123456789") for _ in range(digits))
    return f"{text}.{frac}Z" if digits else f"{text}Z"


def _random_item(rng: random.Random) -> str:
    kind = rng.randrange(10)
    value = (
        _random_number(rng)
        if kind < 5
        else [
            '{"Name":"I/O Timeout","Value":246,"IsSystem":true}',
            '{"IsSystem":false,"Value":null,"Name":"Geöffnet ✓"}',
            '{"Value":1}',
            '"text value"',
            rng.choice(["null", "true", "false"]),
        ][kind - 5]
    )
    fields = [f'"Timestamp":"{_random_stamp(rng)}"', f'"Value":{value}']
    for flag in ("Good", "Questionable", "Substituted", "Annotated"):
        if rng.random() < 0.5:
            fields.append(f'"{flag}":{rng.choice(["true", "false"])}')
    if rng.random() < 0.2:
        fields.append('"UnitsAbbreviation":"m\\u00b3/h","Links":{"a":[1,{"b":null}]}')
    rng.shuffle(fields)
    return "{" + ",".join(fields) + "}"


@pytest.mark.parametrize("seed", range(20))
def test_the_compiled_reader_equals_the_per_value_path(seed: int) -> None:
    rng = random.Random(seed)
    items = ",\n ".join(_random_item(rng) for _ in range(rng.randrange(0, 400)))
    raw = _stream(items).Items
    fast = decode._fast_columns(raw)
    assert fast is not None
    _same(fast, columns(ITEMS.decode(raw)))


@pytest.mark.parametrize(
    "odd",
    [
        '{"Timestamp":"2020-01-01T01:00:00.25+01:00","Value":2}',  # an offset instead of Z
        '{"Timestamp":"2020-01-01T00:00:02Z","Value":{"Name":"Esc\\"aped"}}',  # escaped name
        '{"Timestamp":"2020-01-01T00:00:03Z","Value":"caf\\u00e9"}',  # escaped string value
        '{"Timestamp":"2300-01-01T00:00:00.1234567Z","Value":3,"Good":false}',  # past ns (taken)
    ],
)
def test_pages_outside_the_compiled_shape_fall_back_to_the_per_value_path(odd: str) -> None:
    items = '{"Timestamp":"2020-01-01T00:00:00Z","Value":1.5},' + odd
    raw = _stream(items).Items
    reference = columns(ITEMS.decode(raw))
    _same(stream_columns(raw), reference)
    assert len(reference) == 2
    if "+01:00" in odd or "\\" in odd:
        assert decode._fast_columns(raw) is None  # refused: the fallback decoded it


def test_without_the_compiled_module_every_page_goes_the_per_value_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = _stream('{"Timestamp":"2020-01-01T00:00:00Z","Value":{"Name":"Active"}}').Items
    monkeypatch.setattr(decode, "_items", None)
    assert decode._fast_columns(raw) is None
    assert stream_columns(raw).state.to_pylist() == ["Active"]


_VALUES = (
    '{"Timestamp":"2020-01-01T00:00:00Z","Value":1.5,"Good":true,"Questionable":false,'
    '"Substituted":false,"Annotated":false},'
    '{"Timestamp":"2020-01-01T00:00:01.1234567Z","Value":{"Name":"Shutdown","Value":254,'
    '"IsSystem":true},"Good":false,"Questionable":true,"Substituted":false,"Annotated":false}'
)


def test_a_plain_streamset_body_is_read_in_one_pass_like_msgspec_reads_it() -> None:
    body = (
        '{"Links":{},"Items":[{"WebId":"A","Name":"x","Path":"\\\\\\\\s\\\\x","Items":['
        + _VALUES
        + '],"UnitsAbbreviation":"","WebException":null},{"WebId":"B","Items":[]},'
        '{"Items":[' + _VALUES + "]}]}"
    ).encode()
    fast = decode.streamset_columns(body)
    assert fast is not None
    reference = STREAMSET.decode(body).Items
    assert [webid for webid, _ in fast] == ["A", "B", None]
    for (_, cols), stream in zip(fast, reference, strict=True):
        _same(cols, stream_columns(stream.Items))
    assert fast[0][1].state.to_pylist() == [None, "Shutdown"]


def test_a_batch_body_of_plain_recorded_reads_is_read_in_one_pass() -> None:
    body = (
        '{"0":{"Status":200,"Headers":{"Content-Type":"application/json"},"Content":{"Items":['
        + _VALUES
        + ']}},"1":{"Content":{"Items":[],"Links":{}},"Status":200}}'
    ).encode()
    fast = decode.batch_columns(body)
    assert fast is not None
    reference = BATCH.decode(body)
    assert sorted(fast) == ["0", "1"]
    for name, cols in fast.items():
        content = reference[name].Content
        assert isinstance(content, StreamValues)
        _same(cols, stream_columns(content.Items))


@pytest.mark.parametrize(
    "body",
    [
        '{"Items":[],"WebException":{"StatusCode":502,"Errors":["x"]}}',
        '{"Items":[{"WebId":"A","Items":[],"WebException":{"StatusCode":404}}]}',
        '{"Items":[{"WebId":"A","Items":[],"Errors":["no"]}]}',
        '{"Items":[{"WebId":"A","Items":[{"Timestamp":"2020-01-01T00:00:00+01:00","Value":1}]}]}',
        '{"Items":[{"WebId":"A","Items":[]}],"Items":[]}',
        '{"Items":[{"WebId":"A","Items":[',
        '{"Items":[{"WebId":"A","Items":[]}]} trailing',
    ],
)
def test_streamset_bodies_outside_the_plain_shape_are_left_to_msgspec(body: str) -> None:
    """The one-pass reader declines: the caller decodes with msgspec, which reports exactly."""
    assert decode.streamset_columns(body.encode()) is None


@pytest.mark.parametrize(
    "body",
    [
        '{"0":{"Status":503,"Content":{"Errors":["busy"]}}}',
        '{"0":{"Status":200,"Content":"parent failed"}}',
        '{"0":{"Status":200}}',
        '{"0":{"Status":2000,"Content":{"Items":[]}}}',
        '{"0":{"Status":200,"Content":{"Items":[]}},"0":{"Status":200,"Content":{"Items":[]}}}',
        '{"0":{"Status":200,"Content":{"Items":[],"WebException":{"StatusCode":500}}}}',
        '{"Items":[]}',
    ],
)
def test_batch_bodies_outside_the_plain_shape_are_left_to_msgspec(body: str) -> None:
    assert decode.batch_columns(body.encode()) is None

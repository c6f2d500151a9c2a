"""Vectorised TimedValue JSON: exact timestamps, round-tripping floats, states, field subsets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from naia.emulator.fields import Selection
from naia.emulator.pitime import PiTimeError, parse_pi_time
from naia.emulator.render import TIMED_VALUE_FIELDS, format_us, timed_values, timestamp_texts
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.generate import Events
from naia.sources.simulator.settings import REALISTIC

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
DAY_US = 86_400_000_000


def reference(ts_us: int) -> str:
    moment = EPOCH + timedelta(microseconds=ts_us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text


def events(point: str, days: int = 2, options: PointOptions = REALISTIC) -> Events:
    source = SimulatorSource(SimulatorSettings(defaults=options, batch_rows=10**7))
    return next(source.events(point, T0, T0 + days * DAY_US))


def test_timestamps_match_datetime_formatting_across_the_range() -> None:
    rng = np.random.default_rng(7)
    ts = np.sort(rng.integers(0, 253_402_300_799_999_999, 20_000))
    ts[::3] -= ts[::3] % 1_000_000  # whole seconds
    ts[::5] -= ts[::5] % 1_000  # whole milliseconds
    ts[::7] -= ts[::7] % 100_000  # one fractional digit
    edges = [0, 951_782_400_000_000, 253_402_300_799_999_999, 1_000_000, 10, 1]
    ts = np.concatenate([ts, np.array(edges, dtype=np.int64)])
    texts = timestamp_texts(ts)
    assert [t.decode() for t in texts] == [reference(v) for v in ts.tolist()]


def test_format_us_whole_and_fractional() -> None:
    assert format_us(T0) == "2024-01-01T00:00:00Z"
    assert format_us(T0 + 500_000) == "2024-01-01T00:00:00.5Z"
    assert format_us(T0 + 123_450) == "2024-01-01T00:00:00.12345Z"
    assert format_us(T0 + 1) == "2024-01-01T00:00:00.000001Z"


@pytest.mark.parametrize("point", ["CDT158", "SINUSOID", "CDM158", "BA:PHASE.1", "SIM.42"])
def test_full_items_equal_the_simulator_value_for_value(point: str) -> None:
    ev = events(point)
    items = json.loads(timed_values(ev, "deg C", TIMED_VALUE_FIELDS))
    assert len(items) == len(ev) > 2_000
    for item, ts, value, state, system, good in zip(
        items,
        ev.ts_us.tolist(),
        ev.value.tolist(),
        ev.state_index.tolist(),
        ev.is_system.tolist(),
        ev.good.tolist(),
        strict=True,
    ):
        assert list(item) == list(TIMED_VALUE_FIELDS)
        assert item["Timestamp"] == reference(ts) + "Z"
        assert item["Good"] is good
        assert item["UnitsAbbreviation"] == "deg C"
        assert item["Questionable"] is item["Substituted"] is item["Annotated"] is False
        if state < 0:
            assert item["Value"] == value  # exact float64 round trip
        else:
            expected = {
                "Name": ev.state_names[state],
                "Value": int(ev.state_codes[state]),
                "IsSystem": system,
            }
            assert item["Value"] == expected


def test_realistic_data_has_system_states_with_good_false() -> None:
    ev = events("CDT158", days=10)
    items = json.loads(timed_values(ev, "", TIMED_VALUE_FIELDS))
    bad = [i for i in items if not i["Good"]]
    assert bad
    assert all(i["Value"]["IsSystem"] is True for i in bad)
    assert {i["Value"]["Name"] for i in bad} <= {
        "I/O Timeout",
        "No Data",
        "Pt Created",
        "Shutdown",
        "Bad Input",
    }
    stamps = [i["Timestamp"] for i in items]
    assert len(set(stamps)) < len(stamps)  # same-timestamp events are kept
    assert any("." not in s for s in stamps) and any("." in s for s in stamps)


def test_floats_use_the_shortest_round_trip_repr() -> None:
    ev = events("SINUSOID", options=PointOptions())
    text = timed_values(ev, "", ("Value",)).decode()
    for item, value in zip(json.loads(text), ev.value.tolist(), strict=True):
        assert item["Value"] == value
    first = repr(float(ev.value[0]))
    assert f'{{"Value":{first}}}' in text


@pytest.mark.parametrize(
    "fields",
    [
        ("Timestamp", "Value"),
        ("Timestamp",),
        ("Value",),
        ("Good",),
        ("Timestamp", "Good"),
        ("Value", "Good", "Annotated"),
        ("UnitsAbbreviation",),
        (),
    ],
)
def test_field_subsets_keep_exactly_those_fields(fields: tuple[str, ...]) -> None:
    ev = events("CDT158", days=5)
    items = json.loads(timed_values(ev, "x", fields))
    assert len(items) == len(ev)
    assert all(list(i) == list(fields) for i in items)
    if "Good" in fields:
        assert [i["Good"] for i in items] == ev.good.tolist()


def test_empty_events_render_an_empty_array() -> None:
    ev = events("CDT158")
    empty = Events(
        ev.ts_us[:0],
        ev.value[:0],
        ev.state_index[:0],
        ev.is_system[:0],
        ev.good[:0],
        ev.state_names,
        ev.state_codes,
    )
    assert timed_values(empty, "", TIMED_VALUE_FIELDS) == b"[]"


def test_selection_semantics() -> None:
    sel = Selection.parse("Items.Timestamp; items.value ;UnitsAbbreviation")
    items = sel.child("Items")
    assert items is not None and items.leaves(TIMED_VALUE_FIELDS) == ("Timestamp", "Value")
    assert sel.includes("UnitsAbbreviation") and not sel.includes("Links")
    whole = Selection.parse("Items").child("Items")
    assert whole is not None and whole.leaves(TIMED_VALUE_FIELDS) == TIMED_VALUE_FIELDS
    trimmed = sel.apply({"Items": [{"Timestamp": 1, "Good": True}], "Links": {}})
    assert trimmed == {"Items": [{"Timestamp": 1}]}
    assert Selection.parse(None).apply({"a": 1}) == {"a": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", T0 + 3_600_000_000),
        ("*-1d", T0 + 3_600_000_000 - DAY_US),
        ("*-1.5h", T0 + 3_600_000_000 - 5_400_000_000),
        ("t", T0),
        ("today+8h", T0 + 8 * 3_600_000_000),
        ("y", T0 - DAY_US),
        ("-10m", T0 + 3_000_000_000),
        ("*-1w+30s", T0 + 3_600_000_000 - 7 * DAY_US + 30_000_000),
        ("2024-01-01T00:00:00Z", T0),
        ("2024-01-01T01:00:00+01:00", T0),
        ("2024-01-01T00:00:00.1234567Z", T0 + 123_456),
        ("2024-01-01", T0),
    ],
)
def test_pi_time_strings(text: str, expected: int) -> None:
    assert parse_pi_time(text, T0 + 3_600_000_000) == expected


@pytest.mark.parametrize(
    "text", ["yesterday-ish", "*-1parsec", "*-.5h", "*-1..5h", "2024-13-01T00:00:00Z"]
)
def test_bad_time_strings(text: str) -> None:
    with pytest.raises(PiTimeError):
        parse_pi_time(text, T0)

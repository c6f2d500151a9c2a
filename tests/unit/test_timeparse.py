from datetime import UTC, datetime, timedelta

import pytest

from naia.domain.errors import InvalidRequestError
from naia.domain.timeparse import (
    format_timespan,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30.00:00:00", timedelta(days=30)),
        ("01:00:00", timedelta(hours=1)),
        ("00:00:30", timedelta(seconds=30)),
        ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("00:00:00.5", timedelta(milliseconds=500)),
        ("00:30", timedelta(minutes=30)),
        ("P30D", timedelta(days=30)),
        ("PT1H", timedelta(hours=1)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P2W", timedelta(days=14)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "00:00:00", "-01:00:00", "PT0S", "P", "PT", "1 day", "25:00:00", "P1Y"]
)
def test_bad_durations_name_the_field(text: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_duration(text)
    assert info.value.field == "chunkSize"


@pytest.mark.parametrize(
    "delta", [timedelta(days=30), timedelta(hours=1), timedelta(seconds=30), timedelta(days=1)]
)
def test_timespan_round_trip(delta: timedelta) -> None:
    assert parse_duration(format_timespan(delta)) == delta


def test_timespan_format_matches_dotnet() -> None:
    assert format_timespan(timedelta(days=30)) == "30.00:00:00"
    assert format_timespan(timedelta(hours=1)) == "01:00:00"


def test_timestamps_need_a_zone() -> None:
    assert parse_timestamp("2026-01-09T00:00:00Z", "startTime") == datetime(2026, 1, 9, tzinfo=UTC)
    assert parse_timestamp("2026-01-09T01:00:00+01:00", "startTime") == datetime(
        2026, 1, 9, tzinfo=UTC
    )
    with pytest.raises(InvalidRequestError, match="time zone") as info:
        parse_timestamp("2026-01-09T00:00:00", "endTime")
    assert info.value.field == "endTime"
    with pytest.raises(InvalidRequestError, match="ISO-8601"):
        parse_timestamp("yesterday", "startTime")


def test_format_timestamp_like_pi() -> None:
    assert format_timestamp(datetime(2026, 1, 9, tzinfo=UTC)) == "2026-01-09T00:00:00Z"
    assert format_timestamp(datetime(2026, 1, 9, 0, 0, 1, 500000, tzinfo=UTC)) == (
        "2026-01-09T00:00:01.5Z"
    )

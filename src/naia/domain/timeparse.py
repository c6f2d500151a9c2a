"""Parsing of chunk sizes (.NET TimeSpan or ISO-8601 duration) and zoned timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from naia.domain.errors import InvalidRequestError

# .NET TimeSpan "c" format: [-][d.]hh:mm[:ss[.fffffff]]
_TIMESPAN = re.compile(
    r"^(?P<neg>-)?(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})"
    r"(?::(?P<s>\d{1,2})(?:\.(?P<frac>\d{1,7}))?)?$"
)
# ISO-8601 duration without years/months (their length is not fixed): PnW, PnDTnHnMnS
_ISO = re.compile(
    r"^(?P<neg>-)?P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str, field: str = "chunkSize") -> timedelta:
    """Parse ``30.00:00:00``, ``01:00:00``, ``00:00:30``, ``P30D`` or ``PT1H``; must be > 0."""
    cleaned = text.strip()
    try:
        delta = _parse_timespan(cleaned)
        if delta is None:
            delta = _parse_iso(cleaned)
    except (OverflowError, ValueError):  # more days than a timedelta holds (or infinite)
        raise InvalidRequestError(
            field, f"'{text}' is too large: at most {MAX_DURATION_DAYS:,} days"
        ) from None
    if delta is None:
        raise InvalidRequestError(
            field,
            f"'{text}' is not a duration; use a .NET TimeSpan such as '30.00:00:00' or "
            "'01:00:00', or ISO-8601 such as 'P30D' or 'PT1H'",
        )
    if delta <= timedelta(0):
        raise InvalidRequestError(field, f"'{text}' must be greater than zero")
    return delta


def _parse_timespan(text: str) -> timedelta | None:
    match = _TIMESPAN.match(text)
    if match is None:
        return None
    hours, minutes = int(match["h"]), int(match["m"])
    seconds = int(match["s"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    frac = (match["frac"] or "").ljust(7, "0")
    delta = timedelta(
        days=int(match["days"] or 0),
        hours=hours,
        minutes=minutes,
        seconds=seconds,
        microseconds=int(frac) // 10,
    )
    return -delta if match["neg"] else delta


def _parse_iso(text: str) -> timedelta | None:
    match = _ISO.match(text)
    if match is None or text.upper() in {"P", "PT", "-P"} or text.upper().endswith("T"):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if k != "neg" and v}
    if not parts:
        return None
    delta = timedelta(
        weeks=parts.get("w", 0.0),
        days=parts.get("d", 0.0),
        hours=parts.get("h", 0.0),
        minutes=parts.get("m", 0.0),
        seconds=parts.get("s", 0.0),
    )
    return -delta if match["neg"] else delta


def format_timespan(delta: timedelta) -> str:
    """Format as .NET TimeSpan: ``30.00:00:00`` or ``01:00:00`` (days only when non-zero)."""
    total_us = delta // timedelta(microseconds=1)
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    seconds, micro = divmod(total_us, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{hour:02d}:{minute:02d}:{sec:02d}"
    if days:
        text = f"{days}.{text}"
    if micro:
        text = f"{text}.{micro * 10:07d}"
    return sign + text


def parse_timestamp(text: str, field: str) -> datetime:
    """Parse an ISO-8601 timestamp that carries a zone (``Z`` or an offset); return UTC.

    A time whose UTC form falls outside years 1-9999 (``0001-01-01T00:00:00+01:00``) is bad
    input naming ``field``."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequestError(
            field, f"'{text}' is not an ISO-8601 timestamp such as '2026-01-09T00:00:00Z'"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidRequestError(
            field, f"'{text}' has no time zone; add 'Z' for UTC or an offset such as '+01:00'"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidRequestError(
            field, f"'{text}' is out of range: in UTC it falls outside the years 1 to 9999"
        ) from None


def format_timestamp(value: datetime) -> str:
    """UTC ISO-8601 with 'Z', fraction only when non-zero (as PI Web API writes them)."""
    utc = value.astimezone(UTC)
    text = f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S")  # %Y drops year 1's zeros
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def to_us(value: datetime) -> int:
    """Microseconds since the Unix epoch."""
    return (value - EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DURATION_DAYS = timedelta.max.days

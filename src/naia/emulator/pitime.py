"""PI time strings as PI Web API reads them (AVEVA, "Time Strings (Core Services)").

A time string is an optional date-time part followed by an optional interval part:

* date-time part: ``*`` (now; also empty), ``t``/``today``, ``y``/``yesterday``, a weekday name
  (full or three letters: the most recent such day, today included, at 0 h), a month name with an
  optional day (``jun``, ``dec 25``: that day, by default today's day number, of the current
  year, at 0 h), a day number < 32 (that day of the current month), a year ≥ 1970 (today's month
  and day in that year), a time of day (``10:00``, ``10:00:00.5``, SQL ``10:00:00:000``: that
  time today), ISO-8601, or a .NET date (``01-Jan-2026``, ``1/1/2026 10:00``, ``1/1/2026 10:00 PM``,
  ``Jan 1, 2026``), optionally quoted.
* interval part: one or more ``{+|-}<number><unit>`` (``-1d``, ``+8h``, ``-1h+30m``); units
  ``s``/``sec``/``second(s)``, ``m``/``min``/``minute(s)``, ``h``/``hour(s)``, ``d``/``day(s)``,
  ``w``/``week(s)``, ``mo``/``month(s)``, ``y``/``year(s)`` (also ``ms``); fractions are allowed
  except for months and years, which move the calendar.

A string with an interval part and no date-time part (``-1h``) is relative: in a time range the
start time is taken relative to the end time and the end time relative to the start time (as
AFTimeRange does); both relative, or alone, relative to now.

Times without a zone are read in ``timeZone``: a Windows zone name as a real PI Web API (.NET)
takes it (``Eastern Standard Time``, ``W. Europe Standard Time``; any case; mapped to IANA by the
CLDR table that ``tzlocal`` ships), an IANA name, or ``UTC``; the emulated server's own zone is
UTC. Results are 100-ns ticks since the Unix epoch (UTC), PI's resolution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz  # the Unicode CLDR table: Windows zone name → IANA

TICKS_PER_US = 10
TICKS_PER_S = 10_000_000
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
_FIXED_TICKS = {
    "ms": 10_000,
    "s": TICKS_PER_S,
    "m": 60 * TICKS_PER_S,
    "h": 3_600 * TICKS_PER_S,
    "d": 86_400 * TICKS_PER_S,
    "w": 7 * 86_400 * TICKS_PER_S,
}
_UNIT_NAMES = {
    "ms": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "mo": "mo",
    "month": "mo",
    "months": "mo",
    "y": "y",
    "year": "y",
    "years": "y",
}
_NUMBER_UNIT = r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)"
_INTERVAL = re.compile(r"\s*[+-]" + _NUMBER_UNIT + r"(?:\s*[+-]?" + _NUMBER_UNIT + r")*\s*$")
_OFFSET = re.compile(r"([+-]?)" + _NUMBER_UNIT)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_MONTH_DAY = re.compile(r"^([a-z]+)(?:\s+([0-9]{1,2}))?$")
_TIME_OF_DAY = re.compile(
    r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.:]([0-9]{1,7}))?)?\s*(am|pm)?$"
)
_ISO = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[t ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,7}))?)?)?"
    r"\s*(z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_DOTNET_DATES = (
    "%d-%b-%Y",
    "%d-%b-%y",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %b %Y",
)
_DOTNET_DATES_FULL = ("%d-%B-%Y", "%B %d, %Y", "%B %d %Y", "%d %B %Y")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PiTimeError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"Cannot parse time string '{text}'.")
        self.text = text


class TimeZoneError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"The time zone '{text}' is not valid.")
        self.text = text


@dataclass(frozen=True, slots=True)
class PiTime:
    """A parsed time string: a base (None for a bare interval) and its offsets."""

    text: str
    base: int | None  # ticks; None: relative to a reference time
    offsets: tuple[tuple[str, float], ...]  # (canonical unit, signed amount)
    zone: tzinfo = UTC

    @property
    def is_relative(self) -> bool:
        return self.base is None

    def resolve(self, reference: int) -> int:
        """Ticks since the epoch; ``reference`` (ticks) replaces a missing base."""
        ticks = self.base if self.base is not None else reference
        for unit, amount in self.offsets:
            if unit in _FIXED_TICKS:
                ticks += round(amount * _FIXED_TICKS[unit])
            else:
                ticks = _add_months(ticks, int(amount) * (12 if unit == "y" else 1), self)
        return ticks


_WINDOWS_ZONES = {name.lower(): iana for name, iana in win_tz.items()}


def time_zone(text: str | None) -> tzinfo:
    """The zone for times without one: UTC by default, a Windows zone name (any case) or an
    IANA name; an unknown name is a TimeZoneError."""
    if text is None or not text.strip() or text.strip().upper() in ("UTC", "GMT", "Z"):
        return UTC
    name = text.strip()
    try:
        return ZoneInfo(_WINDOWS_ZONES.get(name.lower(), name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeZoneError(text) from None


def parse(text: str | None, now_us: int, zone: tzinfo = UTC) -> PiTime:
    """Parse one time string (None or empty: ``*``)."""
    raw = (text or "").strip()
    now = from_ticks(now_us * TICKS_PER_US).astimezone(zone)
    now_ticks = now_us * TICKS_PER_US
    lowered = raw.lower()
    quoted = _quoted(raw)
    if quoted is not None:
        base_text, interval = quoted
    else:
        found = _INTERVAL.search(lowered)
        cut = found.start() if found else len(lowered)
        base_text, interval = raw[:cut].strip(), lowered[cut:]
    offsets = _offsets(interval, raw)
    if not base_text:
        return PiTime(raw, None if offsets else now_ticks, offsets, zone)
    if base_text.lower() in ("*", "now"):
        return PiTime(raw, now_ticks, offsets, zone)
    return PiTime(raw, _base(base_text, now, zone, raw), offsets, zone)


def resolve_time(text: str | None, now_us: int, zone: tzinfo = UTC) -> int:
    """One time (``time=`` parameters): a bare interval is relative to now."""
    return parse(text, now_us, zone).resolve(now_us * TICKS_PER_US)


def resolve_range(
    start: str | None, end: str | None, now_us: int, zone: tzinfo = UTC
) -> tuple[int, int]:
    """(start, end) ticks: a bare-interval start is relative to the end, a bare-interval end to
    the start; both bare, both relative to now."""
    now = now_us * TICKS_PER_US
    first, last = parse(start, now_us, zone), parse(end, now_us, zone)
    if first.is_relative and not last.is_relative:
        end_ticks = last.resolve(now)
        return first.resolve(end_ticks), end_ticks
    start_ticks = first.resolve(now)
    if last.is_relative and not first.is_relative:
        return start_ticks, last.resolve(start_ticks)
    return start_ticks, last.resolve(now)


def parse_pi_time(text: str, now_us: int) -> int:
    """Microseconds (floored) of one time string read in UTC (kept for callers in µs)."""
    return resolve_time(text, now_us) // TICKS_PER_US


def _quoted(raw: str) -> tuple[str, str] | None:
    if len(raw) < 2 or raw[0] not in "\"'":
        return None
    close = raw.find(raw[0], 1)
    if close < 0:
        raise PiTimeError(raw)
    return raw[1:close].strip(), raw[close + 1 :].strip().lower()


def _offsets(interval: str, raw: str) -> tuple[tuple[str, float], ...]:
    out: list[tuple[str, float]] = []
    rest = interval.strip()
    sign = "+"
    for found in _OFFSET.finditer(rest):
        given, amount, unit = found.groups()
        sign = given or sign
        canonical = _UNIT_NAMES.get(unit)
        if canonical is None:
            raise PiTimeError(raw)
        value = float(amount)
        if canonical in ("mo", "y") and not value.is_integer():
            raise PiTimeError(raw)
        out.append((canonical, -value if sign == "-" else value))
    if _OFFSET.sub("", rest).strip():
        raise PiTimeError(raw)
    return tuple(out)


def _add_months(ticks: int, months: int, parsed: PiTime) -> int:
    local = from_ticks(ticks).astimezone(parsed.zone)
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    if not 1970 <= year <= 9999:
        raise PiTimeError(parsed.text)
    day = min(local.day, _days_in(year, month + 1))
    moved = datetime.combine(date(year, month + 1, day), local.time(), parsed.zone)
    return to_ticks(moved) + ticks % TICKS_PER_US


def _base(text: str, now: datetime, zone: tzinfo, raw: str) -> int:
    lowered = text.lower()
    today = now.date()
    if lowered in ("t", "today"):
        return _midnight(today, zone)
    if lowered in ("y", "yesterday"):
        return _midnight(today - timedelta(days=1), zone)
    named = _named_day(lowered, today)
    if named is not None:
        return _midnight(named, zone)
    if lowered.isdigit():
        return _midnight(_numbered_day(int(lowered), today, raw), zone)
    found = _TIME_OF_DAY.match(lowered)
    if found is not None:
        return _at(today, _clock(found, raw), zone)
    return _absolute(text, lowered, zone, raw)


def _named_day(text: str, today: date) -> date | None:
    found = _MONTH_DAY.match(text)
    if found is None:
        return None
    name, day = found.group(1), found.group(2)
    weekday = _index(name, _WEEKDAYS, _FULL_WEEKDAYS)
    if weekday is not None and day is None:
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    month = _index(name, _MONTHS, _FULL_MONTHS)
    if month is None:
        return None
    number = int(day) if day is not None else today.day
    if not 1 <= number <= _days_in(today.year, month + 1):
        return None
    return date(today.year, month + 1, number)


def _index(name: str, short: tuple[str, ...], full: tuple[str, ...]) -> int | None:
    if name in short:
        return short.index(name)
    return full.index(name) if name in full else None


def _numbered_day(number: int, today: date, raw: str) -> date:
    if 1 <= number < 32 and number <= _days_in(today.year, today.month):
        return today.replace(day=number)
    if 1970 <= number <= 9999:
        return today.replace(year=number, day=min(today.day, _days_in(number, today.month)))
    raise PiTimeError(raw)


def _clock(found: re.Match[str], raw: str) -> tuple[int, int, int, int]:
    """(hour, minute, second, ticks) of a time of day."""
    hour, minute = int(found.group(1)), int(found.group(2))
    second = int(found.group(3) or 0)
    ticks = int((found.group(4) or "").ljust(7, "0"))
    meridian = found.group(5)
    if meridian is not None:
        if not 1 <= hour <= 12:
            raise PiTimeError(raw)
        hour = hour % 12 + (12 if meridian == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise PiTimeError(raw)
    return hour, minute, second, ticks


def _absolute(text: str, lowered: str, zone: tzinfo, raw: str) -> int:
    iso = _ISO.match(lowered)
    if iso is not None:
        return _iso(iso, zone, raw)
    date_text, _, clock_text = lowered.partition(" ")
    for candidate, rest in ((lowered, ""), (date_text, clock_text.strip())):
        day = _dotnet_date(candidate)
        if day is None:
            continue
        if not rest:
            return _midnight(day, zone)
        found = _TIME_OF_DAY.match(rest)
        if found is not None:
            return _at(day, _clock(found, raw), zone)
    for split in (2, 3):  # "Jan 1, 2026 10:00" and "1 Jan 2026 10:00"
        words = lowered.split()
        if len(words) > split:
            day = _dotnet_date(" ".join(words[: split + 1]))
            found = _TIME_OF_DAY.match(" ".join(words[split + 1 :]))
            if day is not None and found is not None:
                return _at(day, _clock(found, raw), zone)
    raise PiTimeError(raw)


def _dotnet_date(text: str) -> date | None:
    for fmt in _DOTNET_DATES + _DOTNET_DATES_FULL:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, zone added later
        except ValueError:
            continue
    return None


def _iso(found: re.Match[str], zone: tzinfo, raw: str) -> int:
    day_text, hour, minute, second, fraction, offset = found.groups()
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise PiTimeError(raw) from None
    clock = (
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "").ljust(7, "0")),
    )
    if clock[0] > 23 or clock[1] > 59 or clock[2] > 59:
        raise PiTimeError(raw)
    if offset is None:
        return _at(day, clock, zone)
    if offset == "z":
        return _at(day, clock, UTC)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    fixed = (int(digits[:2]) * 3_600 + int(digits[2:]) * 60) * TICKS_PER_S
    return _at(day, clock, UTC) - sign * fixed


def _at(day: date, clock: tuple[int, int, int, int], zone: tzinfo) -> int:
    hour, minute, second, ticks = clock
    return to_ticks(datetime.combine(day, time(hour, minute, second), zone)) + ticks


def _midnight(day: date, zone: tzinfo) -> int:
    return to_ticks(datetime.combine(day, time(0), zone))


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def to_ticks(moment: datetime) -> int:
    delta = moment - _EPOCH
    micro = (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds
    return micro * TICKS_PER_US


def from_ticks(ticks: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ticks // TICKS_PER_US)


def now_us() -> int:
    delta = datetime.now(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds

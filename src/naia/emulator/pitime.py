"""PI time strings, minimally: ISO-8601, ``*``, ``t``/``today``, ``y``/``yesterday``, offsets.

``*-1d``, ``t+8h``, ``*-1.5h+10m`` and a bare offset such as ``-1d`` (taken relative to now) are
understood. Units: ms, s, m/min, h, d, w. An ISO time without a zone is read as UTC (the emulated
server's local time zone is UTC). Result: microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
_UNITS = {
    "ms": 1_000,
    "s": US_PER_S,
    "m": 60 * US_PER_S,
    "min": 60 * US_PER_S,
    "h": 3_600 * US_PER_S,
    "d": US_PER_DAY,
    "w": 7 * US_PER_DAY,
}
_RELATIVE = re.compile(
    r"^(?P<base>\*|today|t|yesterday|y|now)?"
    r"(?P<offsets>(?:\s*[+-]\s*[0-9]+(?:\.[0-9]+)?\s*[a-z]+)*)$"
)
_OFFSET = re.compile(r"([+-])\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PiTimeError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"Cannot parse time string '{text}'.")
        self.text = text


def parse_pi_time(text: str, now_us: int) -> int:
    cleaned = text.strip()
    if not cleaned:
        raise PiTimeError(text)
    relative = _parse_relative(cleaned.lower(), now_us)
    if relative is not None:
        return relative
    return _parse_iso(cleaned)


def _parse_relative(text: str, now_us: int) -> int | None:
    match = _RELATIVE.match(text)
    if match is None or (match["base"] is None and not match["offsets"]):
        return None
    base = match["base"] or "*"
    midnight = now_us - now_us % US_PER_DAY
    yesterday = midnight - US_PER_DAY
    origins = {"t": midnight, "today": midnight, "y": yesterday, "yesterday": yesterday}
    total = origins.get(base, now_us)
    for sign, amount, unit in _OFFSET.findall(match["offsets"]):
        if unit not in _UNITS:
            raise PiTimeError(text)
        delta = round(float(amount) * _UNITS[unit])
        total += -delta if sign == "-" else delta
    return total


def _parse_iso(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PiTimeError(text) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def now_us() -> int:
    delta = datetime.now(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds

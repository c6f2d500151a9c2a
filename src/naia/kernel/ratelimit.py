"""A logging filter that lets one line per kind through per interval and counts the rest."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

_VARYING = re.compile(r"\d+(?:\.\d+)?\s*(?:ms|s)\b")


def normalised(message: str) -> str:
    """``message`` with durations (``after 3ms``) blanked, so repeats of one event match."""
    return _VARYING.sub("…", message)


class RateLimitFilter(logging.Filter):
    """Passes the first record of each kind (its message, normalised) per ``interval_s``.

    When a kind is let through again, the record says how many like it were held back since:
    an outage that makes a client log the same failure many times a second leaves one line a
    minute. At most ``max_kinds`` kinds are remembered (the oldest is forgotten first).
    """

    def __init__(
        self,
        interval_s: float = 60.0,
        *,
        key: Callable[[str], str] = normalised,
        max_kinds: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._key = key
        self._max_kinds = max_kinds
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = self._key(record.getMessage())
        now = self._clock()
        with self._lock:
            last = self._seen.get(kind)
            if last is not None and now - last[0] < self._interval_s:
                self._seen[kind] = (last[0], last[1] + 1)
                return False
            held = last[1] if last is not None else 0
            self._seen.pop(kind, None)
            self._seen[kind] = (now, 0)
            while len(self._seen) > self._max_kinds:
                del self._seen[next(iter(self._seen))]
        if held:
            record.msg = (
                f"{record.getMessage()} ({held} more like it in the last {self._interval_s:.0f} s)"
            )
            record.args = None
        return True

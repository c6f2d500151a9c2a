"""A short-lived cache in front of "how many rows does QuestDB hold for this request".

Every status call, dashboard refresh and metrics scrape asks the same question; in distributed
mode each answer is a ``count()`` over the request's points and range in QuestDB — heavy for a
multi-year request with the dashboard open. Answers are reused for ``ttl_s`` seconds.

A view must answer promptly whatever QuestDB does: the count is given a short timeout (the
counter's, ``questdb.stored_count_timeout_s``), and once it failed every count fails at once
with the same reason for ``retry_after_s`` — a hung QuestDB costs one timeout per few seconds,
not one per request per call. Callers show ``storedValues: null`` and the reason.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from naia.domain.errors import TransientError

StoredCounter = Callable[[tuple[str, ...], datetime, datetime], int]
Key = tuple[tuple[str, ...], datetime, datetime]


class CachedCounter:
    def __init__(
        self,
        counter: StoredCounter,
        ttl_s: float = 2.0,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
        retry_after_s: float = 5.0,
    ) -> None:
        self._counter = counter
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._failed: tuple[float, str] | None = None  # (when, why) of the last failure
        self._max_entries = max_entries
        self._clock = clock
        self._answers: OrderedDict[Key, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, points: tuple[str, ...], start: datetime, end: datetime) -> int:
        key = (points, start, end)
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
            if cached is not None and now - cached[0] < self._ttl_s:
                return cached[1]
            failed = self._failed
            if failed is not None and now - failed[0] < self._retry_after_s:
                raise TransientError(failed[1])
        try:
            count = self._counter(points, start, end)  # outside the lock: QuestDB may be slow
        except TransientError as exc:
            with self._lock:
                self._failed = (self._clock(), str(exc))
            raise
        with self._lock:
            self._failed = None
            self._answers[key] = (now, count)
            self._answers.move_to_end(key)
            while len(self._answers) > self._max_entries:
                self._answers.popitem(last=False)
        return count

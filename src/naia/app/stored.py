"""A short-lived cache in front of "how many rows does QuestDB hold for this request".

Every status call, dashboard refresh and metrics scrape asks the same question; in distributed
mode each answer is a ``count()`` over the request's points and range in QuestDB — heavy for a
multi-year request with the dashboard open. Answers are reused for ``ttl_s`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

StoredCounter = Callable[[tuple[str, ...], datetime, datetime], int]
Key = tuple[tuple[str, ...], datetime, datetime]


class CachedCounter:
    def __init__(
        self,
        counter: StoredCounter,
        ttl_s: float = 2.0,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counter = counter
        self._ttl_s = ttl_s
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
        count = self._counter(points, start, end)  # outside the lock: QuestDB may be slow
        with self._lock:
            self._answers[key] = (now, count)
            self._answers.move_to_end(key)
            while len(self._answers) > self._max_entries:
                self._answers.popitem(last=False)
        return count

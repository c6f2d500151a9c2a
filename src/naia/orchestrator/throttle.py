"""Protect the source: a values-per-second token bucket and cancellation between batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from naia.domain.errors import CancelledError


class RateLimiter:
    """Token bucket in values/s; 0 disables it. Shared by all work of one orchestrator."""

    def __init__(
        self,
        values_per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = values_per_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._available = values_per_s
        self._last = clock()

    def acquire(self, values: int) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._available = min(self.rate, self._available + (now - self._last) * self.rate)
            self._last = now
            self._available -= values
            debt = -self._available
        if debt > 0:
            self._sleep(debt / self.rate)


def guarded(
    batches: Iterable[pa.RecordBatch],
    limiter: RateLimiter,
    cancelled: threading.Event,
    on_batch: Callable[[int], None],
) -> Iterator[pa.RecordBatch]:
    """Pass batches through, paced by ``limiter``; stop with CancelledError when cancelled."""
    for batch in batches:
        if cancelled.is_set():
            raise CancelledError("cancelled")
        limiter.acquire(batch.num_rows)
        on_batch(batch.num_rows)
        yield batch
    if cancelled.is_set():
        raise CancelledError("cancelled")

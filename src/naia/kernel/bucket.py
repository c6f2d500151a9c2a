"""A values-per-second token bucket, thread-safe; ``rate`` 0 turns it off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Holds at most one second's worth of tokens; spending may run it into debt.

    Two ways to pay: ``acquire(n)`` when the cost is known before the work (a batch in hand), or
    ``wait()`` before and ``spend(n)`` after when it is known only once the work is done (an HTTP
    response's values). Either way the caller sleeps while the bucket is in debt.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = rate
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self, values: int) -> None:
        """Pay ``values`` now and sleep off any debt."""
        if self.rate <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens -= values
            debt = -self._tokens
        self._sleep_off(debt)

    def wait(self) -> None:
        """Sleep while the bucket is in debt (pay later with ``spend``)."""
        if self.rate <= 0:
            return
        with self._lock:
            self._refill()
            debt = -self._tokens
        self._sleep_off(debt)

    def spend(self, values: int) -> None:
        """Pay ``values`` for work already done."""
        if self.rate <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens -= values

    def _sleep_off(self, debt: float) -> None:
        if debt > 0:
            self._sleep(debt / self.rate)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

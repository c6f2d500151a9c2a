"""Capped exponential backoff with equal jitter, and a retry loop built on it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits of ``base_s``, 2×, 4×… capped at ``max_s``, each drawn from [cap/2, cap].

    Equal jitter (not full jitter): a wait is never shorter than half its cap, so a retry storm
    spreads out while a lone client still backs off predictably.
    """

    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int, rng: random.Random, floor: float | None = None) -> float:
        """The wait after ``failures`` consecutive failures (≥ 1); ``floor`` (a server's
        Retry-After) wins when it is longer."""
        cap = min(self.max_s, self.base_s * 2.0 ** max(failures - 1, 0))
        wait = rng.uniform(cap / 2, cap)
        return wait if floor is None else max(wait, floor)


def call_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int,
    backoff: Backoff,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    sleep: Callable[[float], None],
    on_retry: Callable[[int, BaseException, float], None] = lambda n, e, w: None,
    floor: Callable[[BaseException], float | None] = lambda e: None,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn``; on an exception of ``retry_on`` wait and call again, ``attempts`` in all.

    The last failure propagates unchanged. ``on_retry(attempt, error, wait)`` is told before each
    wait; ``floor(error)`` may lengthen a wait (Retry-After).
    """
    rng = rng or random.Random()
    attempt = 1
    while True:
        try:
            return fn()
        except retry_on as error:
            if attempt >= attempts:
                raise
            wait = backoff.delay(attempt, rng, floor(error))
            on_retry(attempt, error, wait)
            sleep(wait)
            attempt += 1

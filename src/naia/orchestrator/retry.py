"""Retry transient failures with jittered exponential backoff."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from naia.domain.errors import SourceTransientError, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, error: TransientError, rng: random.Random) -> float:
        """Full-jitter backoff; a server's Retry-After is a floor."""
        cap = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        wait = rng.uniform(cap / 2, cap)
        if isinstance(error, SourceTransientError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    on_retry: Callable[[int, TransientError, float], None],
    rng: random.Random | None = None,
) -> T:
    """Call ``fn``; on TransientError wait and call again, up to ``policy.max_attempts``."""
    rng = rng or random.Random()
    attempt = 1
    while True:
        try:
            return fn()
        except TransientError as error:
            if attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, error, rng)
            on_retry(attempt, error, wait)
            sleep(wait)
            attempt += 1

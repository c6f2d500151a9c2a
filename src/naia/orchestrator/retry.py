"""How the orchestrator retries a unit that failed transiently (``naia.kernel.backoff``)."""

from __future__ import annotations

from dataclasses import dataclass

from naia.domain.errors import SourceTransientError
from naia.kernel.backoff import Backoff


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.base_delay_s, self.max_delay_s)


def retry_after(error: BaseException) -> float | None:
    """A source's Retry-After: a floor under the next wait."""
    return error.retry_after if isinstance(error, SourceTransientError) else None

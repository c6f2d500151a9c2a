"""Observer: what the orchestrator reports as it works, for metrics (no dependency here)."""

from __future__ import annotations

from typing import Protocol

from naia.domain.model import Verification, WorkUnit


class Observer(Protocol):
    """Called from the orchestrator's worker thread; implementations must be quick and not raise."""

    def on_chunk_done(self, unit: WorkUnit, values: int, batches: int, seconds: float) -> None:
        """A unit's data and checkpoint were committed after ``seconds`` (retries included)."""

    def on_chunk_failed(self, unit: WorkUnit, error: Exception) -> None:
        """A unit failed for good (retries exhausted or a permanent error)."""

    def on_retry(self, unit: WorkUnit) -> None:
        """An attempt at a unit failed with a transient error; it will be tried again."""

    def on_values_read(self, n: int) -> None:
        """A batch of ``n`` values was read from a source (before it is written)."""

    def on_verified(self, verification: Verification) -> None:
        """A verification compared a request's store with its source."""


class NullObserver:
    """Observes nothing."""

    def on_chunk_done(self, unit: WorkUnit, values: int, batches: int, seconds: float) -> None:
        pass

    def on_chunk_failed(self, unit: WorkUnit, error: Exception) -> None:
        pass

    def on_retry(self, unit: WorkUnit) -> None:
        pass

    def on_values_read(self, n: int) -> None:
        pass

    def on_verified(self, verification: Verification) -> None:
        pass

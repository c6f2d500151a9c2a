"""Observer: what the orchestrator reports as it works, for metrics (no dependency here)."""

from __future__ import annotations

from typing import Protocol

from naia.domain.model import Chunk, Verification


class Observer(Protocol):
    """Called from the orchestrator's worker thread; implementations must be quick and not raise."""

    def on_chunk_done(self, chunk: Chunk, values: int, batches: int, seconds: float) -> None:
        """A chunk's data and checkpoint were committed after ``seconds`` (retries included)."""

    def on_chunk_failed(self, chunk: Chunk, error: Exception) -> None:
        """A chunk failed for good (retries exhausted or a permanent error)."""

    def on_retry(self, chunk: Chunk) -> None:
        """An attempt at a chunk failed with a transient error; it will be tried again."""

    def on_values_read(self, n: int) -> None:
        """A batch of ``n`` values was read from a source (before it is written)."""

    def on_verified(self, verification: Verification) -> None:
        """A verification compared a request's store with its source."""


class NullObserver:
    """Observes nothing."""

    def on_chunk_done(self, chunk: Chunk, values: int, batches: int, seconds: float) -> None:
        pass

    def on_chunk_failed(self, chunk: Chunk, error: Exception) -> None:
        pass

    def on_retry(self, chunk: Chunk) -> None:
        pass

    def on_values_read(self, n: int) -> None:
        pass

    def on_verified(self, verification: Verification) -> None:
        pass

"""Outage episodes of the worker's dependencies: one warning when one starts, one line when it
ends, and the observer told each change and each retry (for the metrics)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("naia.ingest")


class HealthObserver(Protocol):
    def on_dependency(self, dependency: str, up: bool) -> None:
        """``dependency`` (kafka, questdb, redis) went down or came back."""

    def on_retry(self, dependency: str) -> None:
        """An operation on ``dependency`` failed and will be tried again after a wait."""


@dataclass
class _Episode:
    since: float
    failures: int = 0


class DependencyHealth:
    """Which dependencies are down, since when, after how many failed attempts."""

    def __init__(
        self, observer: HealthObserver, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._observer = observer
        self._clock = clock
        self._down: dict[str, _Episode] = {}

    def failed(self, dependency: str, error: BaseException) -> int:
        """Note a failed attempt; returns the consecutive failures of this episode (≥ 1)."""
        episode = self._down.get(dependency)
        if episode is None:
            episode = self._down[dependency] = _Episode(self._clock())
            log.warning(
                "%s unavailable: %s — ingestion paused, retrying with backoff "
                "(nothing is committed until it is back)",
                dependency, error,
            )  # fmt: skip
            self._observer.on_dependency(dependency, False)
        else:
            log.debug("%s still unavailable (attempt %d): %s", dependency, episode.failures, error)
        episode.failures += 1
        self._observer.on_retry(dependency)
        return episode.failures

    def ok(self, dependency: str) -> None:
        """``dependency`` answered: ends its episode, if one was open."""
        episode = self._down.pop(dependency, None)
        if episode is None:
            return
        log.info(
            "%s recovered after %.1f s and %d failed attempt(s); ingestion resumes",
            dependency, self._clock() - episode.since, episode.failures,
        )  # fmt: skip
        self._observer.on_dependency(dependency, True)

    def down(self) -> list[str]:
        return sorted(self._down)

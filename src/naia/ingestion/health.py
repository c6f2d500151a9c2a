"""Outage episodes of the worker's dependencies (``naia.kernel.episode``): one warning when one
starts, one when it ends, and the observer told each change and each retry (for the metrics)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from naia.kernel.episode import Episode

log = logging.getLogger("naia.ingest")


class HealthObserver(Protocol):
    def on_dependency(self, dependency: str, up: bool) -> None:
        """``dependency`` (kafka, questdb, redis) went down or came back."""

    def on_retry(self, dependency: str) -> None:
        """An operation on ``dependency`` failed and will be tried again after a wait."""


_MEANWHILE = "ingestion paused, retrying with backoff; nothing is committed until it is back"


class DependencyHealth:
    """Which dependencies are down: an :class:`Episode` each, the observer told each change."""

    def __init__(
        self, observer: HealthObserver, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._observer = observer
        self._clock = clock
        self._episodes: dict[str, Episode] = {}

    def failed(self, dependency: str, error: BaseException) -> int:
        """Note a failed attempt; returns the consecutive failures of this episode (≥ 1)."""
        failures = self._episode(dependency).failed(f"unavailable: {error}")
        if failures == 1:
            self._observer.on_dependency(dependency, False)
        self._observer.on_retry(dependency)
        return failures

    def ok(self, dependency: str) -> None:
        """``dependency`` answered: ends its episode, if one was open."""
        episode = self._episodes.get(dependency)
        if episode is not None and episode.succeeded():
            self._observer.on_dependency(dependency, True)

    def down(self) -> list[str]:
        return sorted(name for name, episode in self._episodes.items() if episode.failing)

    def _episode(self, dependency: str) -> Episode:
        episode = self._episodes.get(dependency)
        if episode is None:
            episode = Episode(log, dependency, self._clock, meanwhile=_MEANWHILE)
            self._episodes[dependency] = episode
        return episode

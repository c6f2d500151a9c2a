"""One log line when a dependency starts failing and one when it answers again.

A dependency that is away (a PI Web API restarting, a proxy dropping connections) makes every
reader thread fail and retry, attempt after attempt; a line per attempt buries what happened.
An :class:`Episode` logs the first failure as a WARNING, the ones after it at DEBUG (counted), and
a WARNING again, with the duration and the count, when a call succeeds again — the end of an
outage shows wherever its start did (`naia backfill` prints WARNINGs only). Thread-safe: the
threads of one client share one episode. Used by the PI Web API client, the orchestrator, the
fetcher and the ingest worker (``naia.ingestion.health``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class Episode:
    def __init__(
        self,
        log: logging.Logger,
        subject: str,
        clock: Callable[[], float] = time.monotonic,
        *,
        meanwhile: str = "retrying with backoff",
    ) -> None:
        """``meanwhile``: what happens during the outage, said in its first line."""
        self._log = log
        self._subject = subject
        self._clock = clock
        self._meanwhile = meanwhile
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self, detail: str) -> int:
        """A failed attempt; the first of an episode is a WARNING, the rest DEBUG. Returns the
        failed attempts of this episode so far (1: it has just started)."""
        with self._lock:
            first = self._since is None
            if first:
                self._since = self._clock()
            self._failures += 1
            failures = self._failures
        if first:
            self._log.warning(
                "%s: %s (%s; one line more when it answers again)",
                self._subject,
                detail,
                self._meanwhile,
            )
        else:
            self._log.debug("%s: %s", self._subject, detail)
        return failures

    def succeeded(self) -> bool:
        """A call that worked: ends the episode (one line) if one was open; whether it did."""
        if self._since is None:  # the common case, without the lock
            return False
        with self._lock:
            since, failures = self._since, self._failures
            self._since, self._failures = None, 0
        if since is None:
            return False
        self._log.warning(
            "%s answers again after %.1f s (%d failed attempt(s))",
            self._subject,
            self._clock() - since,
            failures,
        )
        return True

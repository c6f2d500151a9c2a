"""FleetOrchestrator: distributed mode where fetchers read PI (``orchestrator.fetchers=fleet``).

Instead of reading a request's units itself, the orchestrator dispatches them through the
FleetBoard (once per request, whichever API asks: the board fences every other dispatcher of the
request first) and follows their checkpoints and outcomes, on a thread per request, until every
unit is done, failed or skipped; then it concludes the request as the in-process orchestrator
does. The queue moves on as soon as a request is dispatched: the fleet works on every running
request at once.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from naia.domain.errors import TerminalError, TransientError
from naia.domain.fleet import (
    DONE,
    FAILED,
    SKIPPED,
    Dispatch,
    FleetBoard,
    Outcome,
    Reading,
    outstanding,
)
from naia.domain.model import ChunkCheckpoint
from naia.domain.ports import ChunkWriter, SourceProvider, StateStore
from naia.kernel.backoff import Backoff
from naia.orchestrator.live import LiveRequest
from naia.orchestrator.orchestrator import Orchestrator, OrchestratorConfig

log = logging.getLogger("naia.orchestrator")


@dataclass(frozen=True, slots=True)
class FetcherShare:
    """What one fetcher did for a request: units published, values, time spent publishing."""

    fetcher: str
    units: int
    values: int
    seconds: float
    current_unit: int | None = None  # the unit of this request it reads now
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class FleetView:
    """A request as the fleet sees it: who owns it, what is out, which fetcher did what."""

    owner: str | None
    run: int
    dispatched: int
    outstanding: int
    skipped: int
    fetchers: tuple[FetcherShare, ...]


class FleetOrchestrator(Orchestrator):
    def __init__(
        self,
        sources: SourceProvider,
        writer: ChunkWriter,
        state: StateStore,
        board: FleetBoard,
        config: OrchestratorConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(sources, writer, state, config, **kwargs)
        self._board = board
        self._followers: dict[str, threading.Thread] = {}

    def run_pending(self) -> None:
        """Dispatch every queued request, then wait until each is concluded (or stopping)."""
        super().run_pending()
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.join()

    def fleet_view(self, request_id: str) -> FleetView:
        """The request's dispatch and its units by fetcher (NotFoundError if unknown here)."""
        self._entry(request_id)
        dispatch, done, outcomes = self._board.progress(request_id)
        by: dict[str, list[Outcome]] = {}
        for outcome in outcomes.values():
            if outcome.kind == DONE:
                by.setdefault(outcome.fetcher, []).append(outcome)
        left = outstanding(dispatch, done, outcomes)
        now = {  # a unit settled since (by whoever) is not read any more: a stale announcement
            name: r
            for name, r in self._board.readings().items()
            if r.request_id == request_id and r.unit_index in left
        }
        shares = tuple(
            _share(name, by.get(name, []), now.get(name)) for name in sorted({*by, *now})
        )
        return FleetView(
            owner=dispatch.owner if dispatch else None,
            run=dispatch.last_run if dispatch else 0,
            dispatched=len(dispatch.runs) if dispatch else 0,
            outstanding=len(left),
            skipped=sum(1 for o in outcomes.values() if o.kind == SKIPPED),
            fetchers=shares,
        )

    def _run_request(self, request_id: str) -> None:
        entry = self._entry(request_id)
        if not entry.status.is_active:
            return
        owner = self._dispatch(entry)
        if owner is None:
            return  # shutting down: the request resumes on restart
        if owner != self._board.owner:
            log.info("%s is owned by %s: it follows it, not this API", request_id, owner)
            return
        self._mark_running(entry)
        follower = threading.Thread(target=self._follow, args=(entry,), daemon=True,
                                    name=f"naia-follow-{request_id[:8]}")  # fmt: skip
        with self._lock:
            self._followers[request_id] = follower
        follower.start()  # the queue goes on: the next request is dispatched at once

    def _follow(self, entry: LiveRequest) -> None:
        """Take in the fleet's checkpoints and outcomes until no unit is outstanding."""
        request_id = entry.record.request_id
        try:
            self._follow_until_settled(entry)
        except Exception:  # a bug must not go unseen
            log.exception("following %s crashed", request_id)
        finally:
            with self._lock:
                if self._followers.get(request_id) is threading.current_thread():
                    del self._followers[request_id]

    def _follow_until_settled(self, entry: LiveRequest) -> None:
        request_id = entry.record.request_id
        while True:
            dispatch, done, outcomes = self._board.progress(request_id)
            self._absorb(entry, dispatch, done, outcomes)
            if not outstanding(dispatch, done, outcomes):
                break
            if self._stopping.is_set():
                return
            self._board.wait(0.5)
        self._conclude(entry)

    def _dispatch(self, entry: LiveRequest) -> str | None:
        """Hand the request's units to the fleet, retrying while Kafka is away; the owner of the
        request (this API unless another dispatched it first), None when stopping."""
        record, rng, failures = entry.record, random.Random(), 0
        backoff = Backoff(self._config.retry.base_delay_s, self._config.retry.max_delay_s)
        while not self._stopping.is_set():
            try:
                units, failed = entry.plan.chunks(), set(record.failed_units)
                spec = record.spec
                return self._board.dispatch(
                    record.request_id, spec.connector_type, units, failed
                ).owner
            except TransientError as exc:
                failures += 1
                wait = backoff.delay(failures, rng)
                if failures == 1:
                    log.warning("units of %s not dispatched (%s); retrying", record.request_id, exc)
                self._stopping.wait(wait)
        return None

    def _absorb(
        self,
        entry: LiveRequest,
        dispatch: Dispatch | None,
        done: dict[int, ChunkCheckpoint],
        outcomes: dict[int, Outcome],
    ) -> None:
        """Take in the checkpoints and failures the fleet published since the last look."""
        failed: list[tuple[int, str]] = []
        with self._lock:
            for index, checkpoint in done.items():
                if index in entry.done:
                    continue
                entry.done[index] = checkpoint
                entry.run_values += checkpoint.values
                entry.run_chunks += 1
                outcome = outcomes.get(index)
                seconds = outcome.seconds if outcome is not None else 0.0
                self._observer.on_chunk_done(entry.plan.chunk(index), checkpoint.values,
                                             checkpoint.batches, seconds)  # fmt: skip
            runs = dispatch.runs if dispatch is not None else {}
            for index, outcome in outcomes.items():
                if (outcome.kind == FAILED and index not in done
                        and index not in entry.record.failed_units
                        and outcome.run >= runs.get(index, 0)):  # fmt: skip
                    failed.append((index, outcome.error or "failed"))
        for index, error in failed:
            self._fail_chunk(entry, entry.plan.chunk(index), FetcherError(error))


def _share(name: str, done: list[Outcome], reading: Reading | None) -> FetcherShare:
    return FetcherShare(
        name,
        len(done),
        sum(o.values for o in done),
        sum(o.seconds for o in done),
        reading.unit_index if reading else None,
        reading.since if reading else None,
    )


class FetcherError(TerminalError):
    """A unit a fetcher gave up on; its message is the fetcher's error."""

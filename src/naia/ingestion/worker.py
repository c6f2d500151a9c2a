"""IngestionWorker: poll → decode → write every sink → make durable → commit, pipelined.

A cycle's sinks are prepared (encoding: CPU) in the worker's thread; the step that makes them
durable (HTTP to QuestDB, Redis calls: waiting) runs on one background thread while the next
cycle is polled, decoded and prepared. Offsets of a cycle are committed only after its durable
step finished — explicitly, as the consumer has moved on — so a kill -9 at any point
re-delivers at most the uncommitted messages, and the sinks are idempotent (QuestDB DEDUP
UPSERT KEYS; Redis compare-and-set on timestamp). Durable steps run one at a time, in cycle
order. Undecodable messages go to the dead-letter topic with the reason, and the worker goes on.

Dependencies come and go: a durable step that fails transiently (QuestDB or Redis away) is
tried again, from the sink that failed, with capped backoff until it succeeds or the worker is
stopped — the worker polls nothing meanwhile, so memory stays bounded to the cycle in flight
and the one prepared. A poll that finds Kafka away waits likewise. A commit refused because the
group generation was lost drops that commit (the messages come again after the rejoin); one
that finds Kafka away is carried by the inbox to the next commit. Each outage is one warning,
its end one line, and the observer is told (metrics).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from naia.domain.errors import (
    DecodeError,
    DependencyUnavailableError,
    GenerationLostError,
    TransientError,
)
from naia.domain.ports import Inbox, InboxMessage, Sink
from naia.ingestion.health import DependencyHealth
from naia.kernel.backoff import Backoff

log = logging.getLogger("naia.ingest")

KAFKA = "kafka"
SINK = "sink"  # a transient sink failure that does not name its service


@dataclass
class WorkerStats:
    messages: int = 0
    values: int = 0
    dead_letters: int = 0
    commits: int = 0
    retries: int = 0
    commits_dropped: int = 0


class IngestObserver(Protocol):
    """What the worker reports, for metrics; called from the worker's thread, must not raise."""

    def on_ingested(self, values: int, messages: int) -> None:
        """One cycle's messages (and their values) were written, flushed and committed."""

    def on_dead_letter(self) -> None:
        """An undecodable message went to the dead-letter topic."""

    def on_dependency(self, dependency: str, up: bool) -> None:
        """``dependency`` (kafka, questdb, redis) went down or came back."""

    def on_retry(self, dependency: str) -> None:
        """An operation on ``dependency`` failed and will be tried again after a wait."""


class NullIngestObserver:
    def on_ingested(self, values: int, messages: int) -> None:
        pass

    def on_dead_letter(self) -> None:
        pass

    def on_dependency(self, dependency: str, up: bool) -> None:
        pass

    def on_retry(self, dependency: str) -> None:
        pass


class StoppedWhileUnavailable(Exception):  # noqa: N818 - a signal, not an error
    """The worker was stopped while a cycle could not be made durable: nothing of it is
    committed, its messages come again."""


@dataclass
class _Durable:
    """A cycle's durable steps; a retry resumes at the step that failed."""

    steps: list[Callable[[], None]]
    done: int = 0

    def __call__(self) -> None:
        while self.done < len(self.steps):
            self.steps[self.done]()
            self.done += 1


@dataclass
class _InFlight:
    future: Future[None]
    durable: _Durable
    messages: list[InboxMessage]
    values: int
    failures: dict[str, int] = field(default_factory=dict)


class IngestionWorker:
    def __init__(
        self,
        inbox: Inbox,
        sinks: Sequence[Sink],
        *,
        max_messages: int = 8,
        poll_timeout: float = 0.2,
        observer: IngestObserver | None = None,
        backoff: Backoff | None = None,
        idle_check_s: float = 5.0,
    ) -> None:
        self._inbox = inbox
        self._sinks = list(sinks)
        self._max_messages = max_messages
        self._poll_timeout = poll_timeout
        self.stats = WorkerStats()
        self._observer: IngestObserver = observer or NullIngestObserver()
        self.health = DependencyHealth(self._observer)
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._rng = random.Random()
        self._stop = threading.Event()
        self._durable = ThreadPoolExecutor(max_workers=1, thread_name_prefix="naia-durable")
        self._in_flight: _InFlight | None = None
        self._idle_check_s = idle_check_s
        self._last_cycle = time.monotonic()

    def call_until_available(
        self, dependency: str, fn: Callable[[], object], stop: threading.Event
    ) -> bool:
        """Call ``fn`` until it does not raise TransientError (waiting with backoff, reported
        as an outage of ``dependency``) or ``stop`` is set; True when it succeeded."""
        self._stop = stop
        while not stop.is_set():
            try:
                fn()
            except TransientError as exc:
                self._wait(dependency, exc)
                continue
            self.health.ok(dependency)
            return True
        return False

    def run(self, stop: threading.Event, report_every: float = 10.0) -> None:
        """Work until ``stop`` is set; the cycles in progress are made durable and committed
        (unless a dependency is away then: their messages come again)."""
        self._stop = stop
        last_report = time.monotonic()
        try:
            while not stop.is_set():
                self.step()
                if time.monotonic() - last_report >= report_every:
                    log.info("ingested %s", self.stats)
                    last_report = time.monotonic()
            self.drain()
        except StoppedWhileUnavailable as exc:
            log.warning("%s", exc)
        finally:
            self._durable.shutdown(wait=True)
        log.info("stopping: %s", self.stats)

    def step(self) -> int:
        """One cycle; returns the number of messages handled. The cycle before this one is
        durable and committed when it returns; this one is on its way (see ``drain``)."""
        try:
            messages = self._inbox.poll(self._max_messages, self._poll_timeout)
        except DependencyUnavailableError as exc:
            self.drain()
            self._wait(exc.dependency, exc)
            return 0
        self.health.ok(KAFKA)
        if not messages:
            self.drain()
            self._idle_cycle()
            return 0
        values = 0
        for message in messages:
            batch = self._decode(message)
            if batch is not None and batch.num_rows:
                for sink in self._sinks:
                    sink.write(batch)
                values += batch.num_rows
        durable = _Durable([sink.prepare() for sink in self._sinks])
        self.drain()
        self._in_flight = _InFlight(self._durable.submit(durable), durable, messages, values)
        self._last_cycle = time.monotonic()
        return len(messages)

    def _idle_cycle(self) -> None:
        """With nothing to ingest, run the sinks' (empty) durable steps every ``idle_check_s``:
        a sink checks its service then (Redis found empty is filled again) and an outage is
        noticed and waited out as in a real cycle."""
        if time.monotonic() - self._last_cycle < self._idle_check_s:
            return
        durable = _Durable([sink.prepare() for sink in self._sinks])
        self._in_flight = _InFlight(self._durable.submit(durable), durable, [], 0)
        self._last_cycle = time.monotonic()
        self.drain()

    def drain(self) -> None:
        """Wait for the cycle in flight to be durable — trying it again while a sink's service
        is away — then commit its offsets. Raises StoppedWhileUnavailable when stopped first."""
        cycle, self._in_flight = self._in_flight, None
        if cycle is None:
            return
        self._make_durable(cycle)
        if not cycle.messages:
            return
        try:
            self._inbox.commit(cycle.messages)
        except GenerationLostError as exc:
            self.stats.commits_dropped += 1
            log.warning("cycle of %d message(s) not committed, they will come again: %s",
                        len(cycle.messages), exc)  # fmt: skip
            return
        except DependencyUnavailableError as exc:
            self.health.failed(exc.dependency, exc)
            return
        self.health.ok(KAFKA)
        self.stats.values += cycle.values
        self.stats.messages += len(cycle.messages)
        self.stats.commits += 1
        self._observer.on_ingested(cycle.values, len(cycle.messages))

    def _make_durable(self, cycle: _InFlight) -> None:
        while True:
            try:
                cycle.future.result()
            except TransientError as exc:
                dependency = exc.dependency if isinstance(exc, DependencyUnavailableError) else SINK
                self._wait(dependency, exc)
                if self._stop.is_set():
                    raise StoppedWhileUnavailable(
                        f"stopped while {dependency} was unavailable: a cycle of "
                        f"{len(cycle.messages)} message(s) is not committed and will come again"
                    ) from exc
                cycle.failures[dependency] = cycle.failures.get(dependency, 0) + 1
                cycle.future = self._durable.submit(cycle.durable)
                continue
            for dependency in cycle.failures:
                self.health.ok(dependency)
            return

    def _wait(self, dependency: str, error: BaseException) -> None:
        """Note the failure and wait before the next attempt (shorter if stopped)."""
        failures = self.health.failed(dependency, error)
        self.stats.retries += 1
        self._stop.wait(self._backoff.delay(failures, self._rng))

    def _decode(self, message: InboxMessage) -> pa.RecordBatch | None:
        try:
            return self._inbox.decode(message)
        except DecodeError as exc:
            log.warning(
                "message %s[%d]@%d to the DLQ: %s",
                message.topic, message.partition, message.offset, exc,
            )  # fmt: skip
            self._inbox.dead_letter(message, str(exc))
            self.stats.dead_letters += 1
            self._observer.on_dead_letter()
            return None

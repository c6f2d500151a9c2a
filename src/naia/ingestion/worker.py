"""IngestionWorker: poll → decode → write every sink → make durable → commit, pipelined.

A cycle's sinks are prepared (encoding: CPU) in the worker's thread; the step that makes them
durable (HTTP to QuestDB, Redis calls: waiting) runs on one background thread while the next
cycle is polled, decoded and prepared. Offsets of a cycle are committed only after its durable
step finished — explicitly, as the consumer has moved on — so a kill -9 at any point
re-delivers at most the uncommitted messages, and the sinks are idempotent (QuestDB DEDUP
UPSERT KEYS; Redis compare-and-set on timestamp). Durable steps run one at a time, in cycle
order. Undecodable messages go to the dead-letter topic with the reason, and the worker goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from naia.domain.errors import DecodeError
from naia.domain.ports import Inbox, InboxMessage, Sink

log = logging.getLogger("naia.ingest")


@dataclass
class WorkerStats:
    messages: int = 0
    values: int = 0
    dead_letters: int = 0
    commits: int = 0


class IngestObserver(Protocol):
    """What the worker reports, for metrics; called from the worker's thread, must not raise."""

    def on_ingested(self, values: int, messages: int) -> None:
        """One cycle's messages (and their values) were written, flushed and committed."""

    def on_dead_letter(self) -> None:
        """An undecodable message went to the dead-letter topic."""


class NullIngestObserver:
    def on_ingested(self, values: int, messages: int) -> None:
        pass

    def on_dead_letter(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _InFlight:
    future: Future[None]
    messages: list[InboxMessage]
    values: int


def _run_all(steps: Sequence[Callable[[], None]]) -> None:
    for durable in steps:
        durable()


class IngestionWorker:
    def __init__(
        self,
        inbox: Inbox,
        sinks: Sequence[Sink],
        *,
        max_messages: int = 8,
        poll_timeout: float = 0.2,
        observer: IngestObserver | None = None,
    ) -> None:
        self._inbox = inbox
        self._sinks = list(sinks)
        self._max_messages = max_messages
        self._poll_timeout = poll_timeout
        self.stats = WorkerStats()
        self._observer: IngestObserver = observer or NullIngestObserver()
        self._durable = ThreadPoolExecutor(max_workers=1, thread_name_prefix="naia-durable")
        self._in_flight: _InFlight | None = None

    def run(self, stop: threading.Event, report_every: float = 10.0) -> None:
        """Work until ``stop`` is set; the cycles in progress are made durable and committed."""
        last_report = time.monotonic()
        try:
            while not stop.is_set():
                self.step()
                if time.monotonic() - last_report >= report_every:
                    log.info("ingested %s", self.stats)
                    last_report = time.monotonic()
            self.drain()
        finally:
            self._durable.shutdown(wait=True)
        log.info("stopping: %s", self.stats)

    def step(self) -> int:
        """One cycle; returns the number of messages handled. The cycle before this one is
        durable and committed when it returns; this one is on its way (see ``drain``)."""
        messages = self._inbox.poll(self._max_messages, self._poll_timeout)
        if not messages:
            self.drain()
            return 0
        values = 0
        for message in messages:
            batch = self._decode(message)
            if batch is not None and batch.num_rows:
                for sink in self._sinks:
                    sink.write(batch)
                values += batch.num_rows
        steps = [sink.prepare() for sink in self._sinks]
        self.drain()
        future = self._durable.submit(_run_all, steps)
        self._in_flight = _InFlight(future, messages, values)
        return len(messages)

    def drain(self) -> None:
        """Wait for the cycle in flight to be durable, then commit its offsets (re-raises its
        failure: nothing is committed then, and the messages come again)."""
        cycle, self._in_flight = self._in_flight, None
        if cycle is None:
            return
        cycle.future.result()
        self._inbox.commit(cycle.messages)
        self.stats.values += cycle.values
        self.stats.messages += len(cycle.messages)
        self.stats.commits += 1
        self._observer.on_ingested(cycle.values, len(cycle.messages))

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

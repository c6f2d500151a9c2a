"""Orchestrator: a queue of backfill requests worked by a background thread.

For each request: plan work units, then for each unit not yet checkpointed: read from the source
(paced by a rate limiter), write data + checkpoint atomically through the ChunkWriter, retrying
transient failures with backoff. A unit that keeps failing is recorded and the request goes on;
``retry_failed`` queues those units again. On start, requests that were Queued or Running when
the process died are resumed from their checkpoints.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from naia.domain.errors import (
    ConflictError,
    InvalidRequestError,
    NaiaError,
    NotFoundError,
    RequestCancelledError,
    TransientError,
    UnknownPointError,
)
from naia.domain.model import (
    BackfillSpec,
    ChunkCheckpoint,
    ChunkWritten,
    RequestRecord,
    RequestStatus,
    WorkUnit,
)
from naia.domain.ports import ChunkWriter, RetryCounting, Source, SourceProvider, StateStore
from naia.kernel.backoff import call_with_retry
from naia.kernel.bucket import TokenBucket
from naia.kernel.pump import prefetch
from naia.orchestrator.entry import Entry
from naia.orchestrator.observer import NullObserver, Observer
from naia.orchestrator.retry import RetryPolicy, retry_after
from naia.orchestrator.throttle import guarded
from naia.orchestrator.views import ChunkMap, RequestView, Stats
from naia.planner import Limits, make_plan

log = logging.getLogger("naia.orchestrator")


@dataclass(frozen=True, slots=True)
class OrchestratorConfig:
    limits: Limits = field(default_factory=Limits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit_values_per_s: float = 0.0
    prefetch: int = 2


def _now() -> datetime:
    return datetime.now(UTC)


def _source_retries(source: Source) -> int:
    return source.retries if isinstance(source, RetryCounting) else 0


def _fields(unit: WorkUnit) -> dict[str, object]:
    """Structured log fields of a chunk (JSON logs show them as keys)."""
    return {"request_id": unit.request_id, "chunk": unit.index}


class Orchestrator:
    def __init__(
        self,
        sources: SourceProvider,
        writer: ChunkWriter,
        state: StateStore,
        config: OrchestratorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        observer: Observer | None = None,
    ) -> None:
        self._sources = sources
        self._writer = writer
        self._state = state
        self._config = config or OrchestratorConfig()
        self._clock = clock
        self._sleep = sleep
        self._observer: Observer = observer or NullObserver()
        self._limiter = TokenBucket(self._config.rate_limit_values_per_s, clock, sleep)
        self._entries: dict[str, Entry] = {}
        self._lock = threading.RLock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._submitting = threading.Lock()
        self._rng = random.Random()

    # Lifecycle --------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Load every stored request; queue those that were Queued or Running. Returns them."""
        resumed = []
        records = self._state.load_requests()
        running_first = sorted(records, key=lambda r: r.status is not RequestStatus.RUNNING)
        for record in running_first:
            entry = self._load_entry(record)
            if record.status.is_active and record.cancel_requested:
                # acknowledged before the crash: a cancel is final even if a chunk was in flight
                self._finish(entry, RequestStatus.CANCELLED, "cancelled by the user")
            elif record.status.is_active:
                log.info("resuming %s from %d checkpoints", record.request_id, len(entry.done))
                self._queue.put(record.request_id)
                resumed.append(record.request_id)
        return resumed

    def _load_entry(self, record: RequestRecord) -> Entry:
        plan = make_plan(record.request_id, record.spec, self._config.limits)
        done = {c.unit_index: c for c in self._state.checkpoints(record.request_id)}
        entry = Entry(record=record, plan=plan, done=done)
        with self._lock:
            self._entries[record.request_id] = entry
        return entry

    def start(self) -> None:
        """Recover, then work the queue in a background thread."""
        self.recover()
        self.start_worker()

    def start_worker(self) -> None:
        """Work the queue in a background thread (without recovering first)."""
        self._thread = threading.Thread(target=self._work, name="naia-orchestrator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        with self._lock:
            for entry in self._entries.values():
                entry.cancel.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def run_pending(self) -> None:
        """Work the queue in the calling thread until it is empty (CLI foreground, tests)."""
        while True:
            try:
                request_id = self._queue.get_nowait()
            except queue.Empty:
                return
            if request_id is not None:
                self._run_request(request_id)

    def _work(self) -> None:
        while not self._stopping.is_set():
            request_id = self._queue.get()
            if request_id is None:
                return
            try:
                self._run_request(request_id)
            except Exception:  # a bug must not kill the worker
                log.exception("request %s crashed the worker", request_id)

    # Commands ---------------------------------------------------------------------------------
    def submit(self, spec: BackfillSpec, idempotency_key: str | None = None) -> RequestView:
        """Queue a request once its record is durable. With an ``idempotency_key`` already used:
        the same spec answers the first request again, another spec is a ConflictError."""
        if idempotency_key is None:
            return self._submit(spec, None)
        with self._submitting:  # one keyed submit at a time: a key cannot queue twice
            known = self._keyed(idempotency_key)
            if known is None:
                return self._submit(spec, idempotency_key)
        if known.record.spec != spec:
            raise ConflictError(
                "Idempotency-Key",
                f"'{idempotency_key}' was used for request {known.record.request_id} "
                "with a different body",
            )
        return self.get(known.record.request_id)

    def _keyed(self, key: str) -> Entry | None:
        with self._lock:
            return next(
                (e for e in self._entries.values() if e.record.idempotency_key == key), None
            )

    def _submit(self, spec: BackfillSpec, key: str | None) -> RequestView:
        request_id = str(uuid.uuid4())
        plan = make_plan(request_id, spec, self._config.limits)
        self._sources.check(spec.connector_type)
        self._check_points(spec)
        record = RequestRecord(
            request_id, spec, RequestStatus.QUEUED, queued_at=_now(), idempotency_key=key
        )
        try:
            self._state.save_request(record)
        except TransientError:
            self._state.abandon_request(request_id)  # not acknowledged: it must never run
            raise
        with self._lock:
            self._entries[request_id] = Entry(record=record, plan=plan)
        self._queue.put(request_id)
        log.info("queued %s: %d points, %d chunks", request_id, len(spec.points), plan.total_units)
        return self.get(request_id)

    def _check_points(self, spec: BackfillSpec) -> None:
        source = self._sources.open(spec.connector_type)
        try:
            source.check_points(spec.points)
        except UnknownPointError as exc:
            raise InvalidRequestError("pointAddresses", str(exc)) from exc
        finally:
            source.close()

    def cancel(self, request_id: str) -> RequestView:
        """Durable before it returns: the cancel survives a crash, even mid-chunk."""
        entry = self._entry(request_id)

        def cancelled(record: RequestRecord) -> RequestRecord | None:
            if not record.status.is_active or record.cancel_requested:
                return None
            record.cancel_requested = True
            if record.status is RequestStatus.QUEUED:
                record.status, record.error = RequestStatus.CANCELLED, "cancelled before it started"
                record.completed_at = _now()
            return record

        if self._persist(entry, cancelled):
            entry.cancel.set()
        return self.get(request_id)

    def retry_failed(self, request_id: str) -> RequestView:
        entry = self._entry(request_id)

        def requeued(record: RequestRecord) -> RequestRecord:
            if record.status.is_active:
                raise InvalidRequestError("requestId", f"request is {record.status.value}")
            if not record.failed_units and record.status is not RequestStatus.CANCELLED:
                raise InvalidRequestError("requestId", "request has no failed chunks to retry")
            record.failed_units.clear()
            record.status, record.error, record.completed_at = RequestStatus.QUEUED, None, None
            record.cancel_requested = False
            return record

        self._persist(entry, requeued)
        entry.cancel = threading.Event()
        self._queue.put(request_id)
        return self.get(request_id)

    def _persist(
        self, entry: Entry, change: Callable[[RequestRecord], RequestRecord | None]
    ) -> bool:
        """Apply ``change`` to a copy of the record, save it, then show it. The save runs outside
        the global lock (a status read never waits behind the store); one save per request at
        a time, each built on the last. False when ``change`` returned None (nothing to do)."""
        with entry.saving:
            with self._lock:
                record = change(replace(entry.record, failed_units=dict(entry.record.failed_units)))
            if record is None:
                return False
            self._state.save_request(record)
            with self._lock:
                entry.record = record
            return True

    def _persist_until_stored(
        self, entry: Entry, change: Callable[[RequestRecord], RequestRecord | None]
    ) -> None:
        """The worker's saves: a store that is away (Kafka restarting) is waited for, with
        backoff and one warning per outage, as long as the process is not stopping."""
        failures = 0
        while True:
            try:
                self._persist(entry, change)
            except TransientError as exc:
                failures += 1
                if self._stopping.is_set():
                    raise
                if failures == 1:
                    log.warning(
                        "cannot store the record of %s (%s); retrying until the store answers",
                        entry.record.request_id, exc,
                    )  # fmt: skip
                self._stopping.wait(self._config.retry.backoff.delay(failures, self._rng))
                continue
            if failures:
                log.info("record of %s stored after %d failed attempt(s)",
                         entry.record.request_id, failures)  # fmt: skip
            return

    # Queries ----------------------------------------------------------------------------------
    def _entry(self, request_id: str) -> Entry:
        with self._lock:
            entry = self._entries.get(request_id)
        if entry is None:
            raise NotFoundError(f"no backfill request with id '{request_id}'")
        return entry

    def get(self, request_id: str) -> RequestView:
        entry = self._entry(request_id)
        with self._lock:
            return entry.view(_now(), self._clock())

    def chunk_map(self, request_id: str) -> ChunkMap:
        entry = self._entry(request_id)
        with self._lock:
            return entry.chunk_map()

    def requests(self) -> list[RequestView]:
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: e.record.queued_at)
            now, clock = _now(), self._clock()
            return [e.view(now, clock) for e in entries]

    def stats(self) -> Stats:
        views = self.requests()

        def count(status: RequestStatus) -> int:
            return sum(1 for v in views if v.status is status)

        return Stats(
            completed_requests=count(RequestStatus.COMPLETED),
            failed_requests=count(RequestStatus.FAILED),
            cancelled_requests=count(RequestStatus.CANCELLED),
            total_points_backfilled=sum(v.points_processed for v in views),
            total_batches_published=sum(v.batches_published for v in views),
            failed_chunks=sum(v.failed_chunks for v in views),
            queue_depth=count(RequestStatus.QUEUED),
        )

    # Work -------------------------------------------------------------------------------------
    def _run_request(self, request_id: str) -> None:
        entry = self._entry(request_id)
        if not entry.status.is_active:
            return
        self._mark_running(entry)
        try:
            source = self._sources.open(entry.record.spec.connector_type)
        except NaiaError as exc:
            self._finish(entry, RequestStatus.FAILED, str(exc))
            return
        try:
            self._run_units(entry, source)
        finally:
            source.close()

    def _mark_running(self, entry: Entry) -> None:
        def running(record: RequestRecord) -> RequestRecord:
            record.status = RequestStatus.RUNNING
            record.started_at = record.started_at or _now()
            return record

        self._persist_until_stored(entry, running)
        with self._lock:
            entry.begin_run(self._clock())
        log.info("running %s: %d chunks left", entry.record.request_id, len(entry.pending_units()))

    def _run_units(self, entry: Entry, source: Source) -> None:
        counted = _source_retries(source)
        for index in entry.pending_units():
            if entry.cancel.is_set():
                break
            try:
                self._run_unit(entry, source, entry.plan.unit(index))
            except UnknownPointError as exc:
                self._finish(entry, RequestStatus.FAILED, str(exc))
                return
            finally:  # the connector's own (HTTP) retries count too
                now = _source_retries(source)
                with self._lock:
                    entry.retries += now - counted
                counted = now
        self._conclude(entry)

    def _run_unit(self, entry: Entry, source: Source, unit: WorkUnit) -> None:
        with self._lock:
            entry.running.add(unit.index)
        started = self._clock()
        try:
            written = call_with_retry(
                lambda: self._attempt(entry, source, unit),
                attempts=self._config.retry.max_attempts,
                backoff=self._config.retry.backoff,
                retry_on=TransientError,
                sleep=self._sleep,
                on_retry=lambda n, err, wait: self._on_retry(entry, unit, n, err, wait),
                floor=retry_after,
            )
        except RequestCancelledError:
            log.info("chunk %d of %s rolled back: cancelled", unit.index, unit.request_id)
        except UnknownPointError:
            raise
        except Exception as exc:
            self._fail_unit(entry, unit, exc)
        else:
            self._complete_unit(entry, unit, written.values, written.batches, started)
        finally:
            with self._lock:
                entry.running.discard(unit.index)
                entry.in_flight_values = 0

    def _attempt(self, entry: Entry, source: Source, unit: WorkUnit) -> ChunkWritten:
        with self._lock:
            entry.in_flight_values = 0

        def count(rows: int) -> None:
            entry.in_flight_values += rows
            self._observer.on_values_read(rows)

        batches = prefetch(
            iter(source.read(unit.points, unit.start, unit.end)), self._config.prefetch
        )
        return self._writer.write_chunk(unit, guarded(batches, self._limiter, entry.cancel, count))

    def _on_retry(
        self, entry: Entry, unit: WorkUnit, attempt: int, error: BaseException, wait: float
    ) -> None:
        entry.retries += 1
        self._observer.on_retry(unit)
        log.warning(
            "chunk %d of %s: attempt %d failed (%s); retrying in %.1fs",
            unit.index, unit.request_id, attempt, error, wait, extra=_fields(unit),
        )  # fmt: skip

    def _complete_unit(
        self, entry: Entry, unit: WorkUnit, values: int, batches: int, started: float
    ) -> None:
        with self._lock:
            entry.done[unit.index] = ChunkCheckpoint(
                unit.request_id, unit.index, values, batches, _now()
            )
            entry.run_values += values
            entry.run_units += 1
        seconds = self._clock() - started
        self._observer.on_chunk_done(unit, values, batches, seconds)
        log.debug(
            "chunk %d of %s: %d values in %.2fs",
            unit.index, unit.request_id, values, seconds, extra=_fields(unit),
        )  # fmt: skip

    def _fail_unit(self, entry: Entry, unit: WorkUnit, exc: Exception) -> None:
        if not isinstance(exc, NaiaError):
            log.exception("chunk %d of %s failed unexpectedly", unit.index, unit.request_id)
        message = f"{type(exc).__name__}: {exc}"
        log.error(
            "chunk %d of %s failed: %s", unit.index, unit.request_id, message, extra=_fields(unit)
        )
        self._observer.on_chunk_failed(unit, exc)

        def failed(record: RequestRecord) -> RequestRecord:
            record.failed_units[unit.index] = message
            return record

        self._persist_until_stored(entry, failed)

    def _conclude(self, entry: Entry) -> None:
        if entry.cancel.is_set() and entry.record.cancel_requested:
            self._finish(entry, RequestStatus.CANCELLED, "cancelled by the user")
        elif entry.cancel.is_set():
            log.info("%s interrupted by shutdown; it resumes on restart", entry.record.request_id)
        elif entry.record.failed_units:
            failed, total = len(entry.record.failed_units), entry.plan.total_units
            self._finish(
                entry,
                RequestStatus.FAILED,
                f"{failed} of {total} chunks failed; run them again with retry-failed",
            )
        else:
            self._finish(entry, RequestStatus.COMPLETED, None)

    def _finish(self, entry: Entry, status: RequestStatus, error: str | None) -> None:
        with self._lock:
            if entry.run_started is not None and entry.run_ended is None:
                entry.run_ended = self._clock()

        def finished(record: RequestRecord) -> RequestRecord:
            record.status, record.error, record.completed_at = status, error, _now()
            return record

        self._persist_until_stored(entry, finished)
        log.info("%s %s%s", entry.record.request_id, status.value, f": {error}" if error else "")

"""Orchestrator: a queue of backfill requests worked by a background thread.

For each request: plan chunks, then for each chunk not yet checkpointed: read from the source
(paced by a rate limiter), write data + checkpoint atomically through the ChunkWriter, retrying
transient failures with backoff. A chunk that keeps failing is recorded and the request goes on;
``retry_failed`` queues those chunks again. On start, requests that were Queued or Running when
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
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from naia.domain.errors import (
    ConflictError,
    InvalidRequestError,
    NaiaError,
    NotFoundError,
    RequestCancelledError,
    SourceUnreachableError,
    TransientError,
    UnknownPointError,
)
from naia.domain.model import (
    BackfillSpec,
    Chunk,
    ChunkCheckpoint,
    ChunkWritten,
    RequestRecord,
    RequestStatus,
    Verification,
    VerificationStatus,
    WindowGrid,
)
from naia.domain.ports import (
    ChunkWriter,
    PointWindowTallies,
    RetryCounting,
    Source,
    SourceProvider,
    StateStore,
    StoreCounter,
    StoredCounts,
    StoreTallier,
)
from naia.kernel.backoff import call_with_retry
from naia.kernel.bucket import TokenBucket
from naia.kernel.episode import Episode
from naia.kernel.pump import prefetch
from naia.orchestrator.live import LiveRequest
from naia.orchestrator.observer import NullObserver, Observer
from naia.orchestrator.retry import RetryPolicy, retry_after
from naia.orchestrator.throttle import guarded
from naia.orchestrator.verify import compare, settled_windows, source_tallies, stored_counts
from naia.orchestrator.views import ChunkMap, RequestView, Stats
from naia.planner import Limits, make_plan

log = logging.getLogger("naia.orchestrator")


@dataclass(frozen=True, slots=True)
class OrchestratorConfig:
    limits: Limits = field(default_factory=Limits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit_values_per_s: float = 0.0
    prefetch: int = 2
    verify_on_complete: bool = False
    verify_settle: timedelta = timedelta(minutes=5)
    """Windows ending later than this before a check are skipped: live data may still come."""
    verify_catch_up_s: float = 0.0
    """After a run (a repair, or verify_on_complete), how long a mismatch is re-counted in the
    store before it stands (distributed mode: the ingestion worker writes QuestDB after the
    chunk's Kafka commit). A verification asked for later does not wait."""


_T = TypeVar("_T")


def _now() -> datetime:
    return datetime.now(UTC)


def _source_retries(source: Source) -> int:
    return source.retries if isinstance(source, RetryCounting) else 0


def _failed(reason: str, *, repair: bool) -> Verification:
    return Verification(VerificationStatus.FAILED, _now(), error=reason, repair=repair)


def _fields(chunk: Chunk) -> dict[str, object]:
    """Structured log fields of a chunk (JSON logs show them as keys)."""
    return {"request_id": chunk.request_id, "chunk": chunk.index}


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
        counter: StoreCounter | StoreTallier | None = None,
    ) -> None:
        """``counter`` counts the store's rows for ``verify`` (None: verification unavailable)."""
        self._counter = counter
        self._sources = sources
        self._writer = writer
        self._state = state
        self._config = config or OrchestratorConfig()
        self._clock = clock
        self._sleep = sleep
        self._observer: Observer = observer or NullObserver()
        self._limiter = TokenBucket(self._config.rate_limit_values_per_s, clock, sleep)
        self._entries: dict[str, LiveRequest] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # a record was replaced (see wait)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._submitting = threading.Lock()
        self._rng = random.Random()
        self._unreachable = Episode(log, "the source")

    # Lifecycle --------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Load every stored request; queue those that were Queued or Running. Returns them."""
        resumed = []
        records = self._state.load_requests()
        running_first = sorted(records, key=lambda r: r.status is not RequestStatus.RUNNING)
        stored = [(r, self._state.checkpoints(r.request_id)) for r in running_first]
        for record, checkpoints in stored:  # all read first: a failed read changed nothing
            entry = self._load_entry(record, checkpoints)
            if record.status.is_active and record.cancel_requested:
                # acknowledged before the crash: a cancel is final even if a chunk was in flight
                self._finish(entry, RequestStatus.CANCELLED, "cancelled by the user")
            elif record.status.is_active:
                log.info("resuming %s from %d checkpoints", record.request_id, len(entry.done))
                self._queue.put(record.request_id)
                resumed.append(record.request_id)
        return resumed

    def _load_entry(self, record: RequestRecord, checkpoints: list[ChunkCheckpoint]) -> LiveRequest:
        plan = make_plan(record.request_id, record.spec, self._config.limits)
        done = {
            c.unit_index: c
            for c in checkpoints
            if c.unit_index not in record.repair_units  # a repair not finished: run it again
        }
        entry = LiveRequest(record=record, plan=plan, done=done)
        with self._lock:
            self._entries[record.request_id] = entry
        return entry

    def start(self) -> None:
        """Recover, then work the queue in a background thread. A store that is not ready yet
        (Kafka restarting, a partition without a leader) is waited for: retried with backoff,
        one warning, as long as the process is not stopping."""
        self._until_stored(self._load_stored, "load the stored requests")
        self.start_worker()

    def _load_stored(self) -> None:
        self.recover()

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

    def _keyed(self, key: str) -> LiveRequest | None:
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
            self._entries[request_id] = LiveRequest(record=record, plan=plan)
        self._queue.put(request_id)
        log.info("queued %s: %d points, %d chunks", request_id, len(spec.points), plan.total_chunks)
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
        self, entry: LiveRequest, change: Callable[[RequestRecord], RequestRecord | None]
    ) -> bool:
        """Apply ``change`` to a copy of the record, save it, then show it. The save runs outside
        the global lock (a status read never waits behind the store); one save per request at
        a time, each built on the last. False when ``change`` returned None (nothing to do)."""
        with entry.saving:
            with self._lock:
                current = entry.record
                record = change(
                    replace(current, failed_units=dict(current.failed_units),
                            repair_units=set(current.repair_units))
                )  # fmt: skip
            if record is None:
                return False
            self._state.save_request(record)
            with self._lock:
                entry.record = record
                self._changed.notify_all()
            return True

    def _persist_until_stored(
        self, entry: LiveRequest, change: Callable[[RequestRecord], RequestRecord | None]
    ) -> None:
        """The worker's saves: a store that is away (Kafka restarting) is waited for, with
        backoff and one warning per outage, as long as the process is not stopping."""
        self._until_stored(
            lambda: self._persist(entry, change), f"store the record of {entry.record.request_id}"
        )

    def _until_stored(self, action: Callable[[], object], what: str) -> None:
        failures = 0
        while True:
            try:
                action()
            except TransientError as exc:
                failures += 1
                if self._stopping.is_set():
                    raise
                if failures == 1:
                    log.warning("cannot %s (%s); retrying until the store answers", what, exc)
                self._stopping.wait(self._config.retry.backoff.delay(failures, self._rng))
                continue
            if failures:
                log.info("%s: done after %d failed attempt(s)", what, failures)
            return

    # Queries ----------------------------------------------------------------------------------
    def _entry(self, request_id: str) -> LiveRequest:
        with self._lock:
            entry = self._entries.get(request_id)
        if entry is None:
            raise NotFoundError(f"no backfill request with id '{request_id}'")
        return entry

    def get(self, request_id: str) -> RequestView:
        entry = self._entry(request_id)
        with self._lock:
            return entry.view(_now(), self._clock())

    def wait(self, request_id: str, timeout: float) -> RequestView:
        """The request's view once it is no longer Queued or Running, or after ``timeout``
        seconds, whichever comes first (a progress display wakes the moment it settles)."""
        entry = self._entry(request_id)
        with self._changed:
            self._changed.wait_for(lambda: not entry.record.status.is_active, timeout)
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
            self._run_chunks(entry, source)
        finally:
            source.close()

    def _mark_running(self, entry: LiveRequest) -> None:
        def running(record: RequestRecord) -> RequestRecord:
            record.status = RequestStatus.RUNNING
            record.started_at = record.started_at or _now()
            return record

        self._persist_until_stored(entry, running)
        with self._lock:
            entry.begin_run(self._clock())
        log.info("running %s: %d chunks left", entry.record.request_id, len(entry.pending_chunks()))

    def _run_chunks(self, entry: LiveRequest, source: Source) -> None:
        counted = _source_retries(source)
        for index in entry.pending_chunks():
            if entry.cancel.is_set():
                break
            try:
                self._run_chunk(entry, source, entry.plan.chunk(index))
            except UnknownPointError as exc:
                self._finish(entry, RequestStatus.FAILED, str(exc))
                return
            finally:  # the connector's own (HTTP) retries count too
                now = _source_retries(source)
                with self._lock:
                    entry.retries += now - counted
                counted = now
        self._conclude(entry)

    def _run_chunk(self, entry: LiveRequest, source: Source, chunk: Chunk) -> None:
        with self._lock:
            entry.running.add(chunk.index)
        started = self._clock()
        try:
            written = self._until_reachable(
                entry,
                lambda: call_with_retry(
                    lambda: self._attempt(entry, source, chunk),
                    attempts=self._config.retry.max_attempts,
                    backoff=self._config.retry.backoff,
                    retry_on=TransientError,
                    sleep=self._sleep,
                    on_retry=lambda n, err, wait: self._on_retry(entry, chunk, n, err, wait),
                    floor=retry_after,
                ),
            )
        except RequestCancelledError:
            log.info("chunk %d of %s rolled back: cancelled", chunk.index, chunk.request_id)
        except UnknownPointError:
            raise
        except Exception as exc:
            self._fail_chunk(entry, chunk, exc)
        else:
            self._complete_chunk(entry, chunk, written.values, written.batches, started)
        finally:
            with self._lock:
                entry.running.discard(chunk.index)
                entry.in_flight_values = 0

    def _until_reachable(self, entry: LiveRequest, run: Callable[[], _T]) -> _T:
        """``run()`` again, as long as it takes, while the source does not answer at all
        (``SourceUnreachableError``: a PI server down or restarting): the chunk is not failed
        for it. The waits back off; the outage is two lines, its start and its end (``Episode``).
        A cancel or a shutdown ends the wait (the chunk is rolled back)."""
        failures = 0
        while True:
            try:
                result = run()
            except SourceUnreachableError as exc:
                failures += 1
                self._unreachable.failed(f"{exc}; the chunk waits for it")
                delay = self._config.retry.backoff.delay(failures, self._rng)
                if entry.cancel.wait(delay) or self._stopping.is_set():
                    raise RequestCancelledError("cancelled while the source was away") from exc
                continue
            self._unreachable.succeeded()
            return result

    def _attempt(self, entry: LiveRequest, source: Source, chunk: Chunk) -> ChunkWritten:
        with self._lock:
            entry.in_flight_values = 0

        def count(rows: int) -> None:
            entry.in_flight_values += rows
            self._observer.on_values_read(rows)

        batches = prefetch(
            iter(source.read(chunk.points, chunk.start, chunk.end)), self._config.prefetch
        )
        return self._writer.write_chunk(chunk, guarded(batches, self._limiter, entry.cancel, count))

    def _on_retry(
        self, entry: LiveRequest, chunk: Chunk, attempt: int, error: BaseException, wait: float
    ) -> None:
        entry.retries += 1
        self._observer.on_retry(chunk)
        if isinstance(error, SourceUnreachableError):  # an outage: logged once (_until_reachable)
            self._unreachable.failed(f"chunk {chunk.index}: {error}")
            return
        log.warning(
            "chunk %d of %s: attempt %d failed (%s); retrying in %.1fs",
            chunk.index, chunk.request_id, attempt, error, wait, extra=_fields(chunk),
        )  # fmt: skip

    def _complete_chunk(
        self, entry: LiveRequest, chunk: Chunk, values: int, batches: int, started: float
    ) -> None:
        with self._lock:
            entry.done[chunk.index] = ChunkCheckpoint(
                chunk.request_id, chunk.index, values, batches, _now()
            )
            entry.run_values += values
            entry.run_chunks += 1
            repaired = chunk.index in entry.record.repair_units
        if repaired:  # its checkpoint is in: the repair of this chunk is done

            def done(record: RequestRecord) -> RequestRecord:
                record.repair_units = record.repair_units - {chunk.index}
                return record

            self._persist_until_stored(entry, done)
        seconds = self._clock() - started
        self._observer.on_chunk_done(chunk, values, batches, seconds)
        log.debug(
            "chunk %d of %s: %d values in %.2fs",
            chunk.index, chunk.request_id, values, seconds, extra=_fields(chunk),
        )  # fmt: skip

    def _fail_chunk(self, entry: LiveRequest, chunk: Chunk, exc: Exception) -> None:
        if not isinstance(exc, NaiaError):
            log.exception("chunk %d of %s failed unexpectedly", chunk.index, chunk.request_id)
        message = f"{type(exc).__name__}: {exc}"
        log.error(
            "chunk %d of %s failed: %s",
            chunk.index,
            chunk.request_id,
            message,
            extra=_fields(chunk),
        )
        self._observer.on_chunk_failed(chunk, exc)

        def failed(record: RequestRecord) -> RequestRecord:
            record.failed_units[chunk.index] = message
            return record

        self._persist_until_stored(entry, failed)

    def _conclude(self, entry: LiveRequest) -> None:
        if entry.cancel.is_set() and entry.record.cancel_requested:
            self._finish(entry, RequestStatus.CANCELLED, "cancelled by the user")
        elif entry.cancel.is_set():
            log.info("%s interrupted by shutdown; it resumes on restart", entry.record.request_id)
        elif entry.record.failed_units:
            failed, total = len(entry.record.failed_units), entry.plan.total_chunks
            self._finish(
                entry,
                RequestStatus.FAILED,
                f"{failed} of {total} chunks failed; run them again with retry-failed",
            )
        else:
            self._finish(entry, RequestStatus.COMPLETED, None)

    def _finish(self, entry: LiveRequest, status: RequestStatus, error: str | None) -> None:
        with self._lock:
            if entry.run_started is not None and entry.run_ended is None:
                entry.run_ended = self._clock()

        def finished(record: RequestRecord) -> RequestRecord:
            record.status, record.error, record.completed_at = status, error, _now()
            return record

        self._persist_until_stored(entry, finished)
        log.info("%s %s%s", entry.record.request_id, status.value, f": {error}" if error else "")
        self._after_finish(entry, status)

    # Verification -----------------------------------------------------------------------------
    def _after_finish(self, entry: LiveRequest, status: RequestStatus) -> None:
        """Verify again after a repair; verify a completed request when configured to."""
        last = entry.record.verification
        repairing = last is not None and last.status is VerificationStatus.REPAIRING
        if repairing and status is not RequestStatus.COMPLETED:
            reason = f"repair ended {status.value}: {entry.record.error}"
            self._save_verification(entry, _failed(reason, repair=True))
        elif status is RequestStatus.COMPLETED and (repairing or self._config.verify_on_complete):
            with self._lock:
                if entry.verifying:  # a verification asked for meanwhile gives the answer
                    return
                entry.verifying = True
            repaired = last.repaired_units if last is not None and repairing else ()
            self._verify_entry(entry, repair=False, repaired=repaired, catch_up=True)

    def verify(self, request_id: str, *, repair: bool = False) -> Verification:
        """Compare the request's store with its source now, in the calling thread; with
        ``repair``, queue the mismatched chunks again (``run_pending`` or the worker runs them,
        then verifies again). NotFoundError / ConflictError (running, or verifying)."""
        entry = self._claim_verify(request_id)
        return self._verify_entry(entry, repair=repair)

    def start_verify(self, request_id: str, *, repair: bool = False) -> RequestView:
        """``verify`` on a thread of its own; the result lands in the request's view."""
        entry = self._claim_verify(request_id)
        thread = threading.Thread(
            target=self._verify_entry, args=(entry,), kwargs={"repair": repair},
            name=f"naia-verify-{request_id[:8]}", daemon=True,
        )  # fmt: skip
        thread.start()
        return self.get(request_id)

    def _claim_verify(self, request_id: str) -> LiveRequest:
        entry = self._entry(request_id)
        with self._lock:
            if self._counter is None:
                raise ConflictError("requestId", "this installation cannot count its store's rows")
            if entry.status.is_active:
                raise ConflictError(
                    "requestId",
                    f"request {request_id} is {entry.status.value}: verify it once it has ended",
                )
            if entry.verifying:
                raise ConflictError("requestId", f"request {request_id} is being verified already")
            entry.verifying = True
            running = Verification(VerificationStatus.RUNNING, _now(), repair=False)
            entry.record = replace(entry.record, verification=running)  # shown, not stored
        return entry

    def _verify_entry(
        self,
        entry: LiveRequest,
        *,
        repair: bool,
        repaired: tuple[int, ...] = (),
        catch_up: bool = False,
    ) -> Verification:
        """``catch_up``: writes were just committed (a run ended), so a mismatch is re-counted
        for up to verify_catch_up_s while the store catches up with them."""
        with self._lock:
            entry.verifying = True
        try:
            result = self._check(entry, repair, repaired, catch_up)
            if repair and result.status is VerificationStatus.MISMATCHED:
                result = self._start_repair(entry, result)
            self._save_verification(entry, result)
            return result
        finally:
            with self._lock:
                entry.verifying = False

    def _check(
        self, entry: LiveRequest, repair: bool, repaired: tuple[int, ...], catch_up: bool
    ) -> Verification:
        spec, started = entry.record.spec, self._clock()
        grid = WindowGrid(spec.start, spec.end, spec.chunk_size)
        checked_at = _now()
        settled = settled_windows(grid, checked_at, self._config.verify_settle)
        assert self._counter is not None
        try:
            source = self._sources.open(spec.connector_type)
            try:
                wanted = self._with_retry(lambda: source_tallies(source, spec.points, grid))
            finally:
                source.close()
            stored = self._with_retry(lambda: self._counter_of(spec.points, grid, wanted, settled))
            result = compare(spec.points, grid, wanted, stored, settled)
            deadline = self._clock() + (self._config.verify_catch_up_s if catch_up else 0.0)
            while result.mismatches and self._clock() < deadline:
                self._sleep(min(1.0, max(0.0, deadline - self._clock())))
                stored = self._with_retry(
                    lambda: self._counter_of(spec.points, grid, wanted, settled)
                )
                result = compare(spec.points, grid, wanted, stored, settled)
        except Exception as exc:  # the verification fails; the data is left as it is
            if not isinstance(exc, NaiaError):
                log.exception("verification of %s failed unexpectedly", entry.record.request_id)
            failed = _failed(f"{type(exc).__name__}: {exc}", repair=repair)
            self._observer.on_verified(failed)
            log.warning("%s verification failed: %s", entry.record.request_id, failed.error)
            return failed
        status = VerificationStatus.MISMATCHED if result.mismatches else VerificationStatus.VERIFIED
        verification = Verification(
            status, checked_at, result.windows_checked, result.windows_skipped,
            result.source_events, result.stored_events, result.mismatches, None, repair,
            repaired, self._clock() - started,
        )  # fmt: skip
        self._observer.on_verified(verification)
        log.info("%s verification: %s, %d of %d windows differ", entry.record.request_id,
                 status.value, len(result.mismatches), result.windows_checked)  # fmt: skip
        return verification

    def _counter_of(
        self, points: tuple[str, ...], grid: WindowGrid, wanted: PointWindowTallies, settled: int
    ) -> StoredCounts:
        assert self._counter is not None
        return stored_counts(self._counter, points, grid, wanted, settled)

    def _with_retry(self, call: Callable[[], _T]) -> _T:
        return call_with_retry(
            call,
            attempts=self._config.retry.max_attempts,
            backoff=self._config.retry.backoff,
            retry_on=TransientError,
            sleep=self._sleep,
            floor=retry_after,
        )

    def _start_repair(self, entry: LiveRequest, found: Verification) -> Verification:
        """Queue every chunk holding a mismatched (point, window): checkpointed like any chunk."""
        plan = entry.plan
        group_of = {p: g for g, points in enumerate(plan.groups) for p in points}
        chunks = sorted({m.window * len(plan.groups) + group_of[m.point] for m in found.mismatches})
        repairing = replace(
            found, status=VerificationStatus.REPAIRING, repaired_units=tuple(chunks)
        )

        def queued(record: RequestRecord) -> RequestRecord:
            record.repair_units |= set(chunks)
            for index in chunks:
                record.failed_units.pop(index, None)  # a failed chunk is repaired as well
            record.status, record.error, record.completed_at = RequestStatus.QUEUED, None, None
            record.cancel_requested = False
            record.verification = repairing
            return record

        self._persist(entry, queued)
        with self._lock:
            for index in chunks:
                entry.done.pop(index, None)
            entry.cancel = threading.Event()
        self._queue.put(entry.record.request_id)
        log.info("%s: repairing %d chunks", entry.record.request_id, len(chunks))
        return repairing

    def _save_verification(self, entry: LiveRequest, verification: Verification) -> None:
        def verified(record: RequestRecord) -> RequestRecord:
            record.verification = verification
            return record

        self._persist_until_stored(entry, verified)

"""Request records are stored outside the orchestrator's lock (#12), a cancel is durable before
it returns and final after a restart (#16 item 8), and a submit the store did not confirm never
runs (#16 item 3)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from naia.domain.errors import TransientError
from naia.domain.model import (
    BackfillSpec,
    ChunkCheckpoint,
    ConnectorType,
    RequestRecord,
    RequestStatus,
)
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.doubles.memory_store import MemoryStore
from tests.doubles.sources import Provider
from tests.helpers import wait_for

SPEC = BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, timedelta(hours=1))


class SlowStore(MemoryStore):
    """Saves wait for ``release`` once ``hold`` is set (a Kafka broker slow to acknowledge)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.saving = threading.Event()
        self.release = threading.Event()

    def save_request(self, record: RequestRecord) -> None:
        if self.hold.is_set():
            self.saving.set()
            assert self.release.wait(30)
        super().save_request(record)


class DownStore(MemoryStore):
    """Refuses request records (a broker that never acknowledges) while ``down``."""

    down = False

    def save_request(self, record: RequestRecord) -> None:
        if self.down:
            raise TransientError("not acknowledged")
        super().save_request(record)


def test_reads_do_not_wait_behind_a_slow_save() -> None:
    store = SlowStore()
    orch = Orchestrator(Provider(), store, store)
    request_id = orch.submit(SPEC).request_id
    store.hold.set()
    with ThreadPoolExecutor(1) as pool:
        cancelling = pool.submit(orch.cancel, request_id)
        assert store.saving.wait(10)
        reads = ThreadPoolExecutor(1).submit(lambda: (orch.get(request_id), orch.requests()))
        view, views = reads.result(timeout=5)  # on a lock held through the save: a timeout
        assert view.status is RequestStatus.QUEUED and len(views) == 1  # not yet stored
        store.release.set()
        assert cancelling.result(10).status is RequestStatus.CANCELLED


def test_a_cancel_stored_before_a_crash_is_final_after_recovery() -> None:
    store = MemoryStore()
    orch = Orchestrator(Provider(), store, store)
    request_id = orch.submit(SPEC).request_id
    running = store.load_requests()[0]
    running.status = RequestStatus.RUNNING
    running.cancel_requested = True  # what cancel stored; then the process died mid-chunk
    store.save_request(running)

    after = Orchestrator(Provider(), store, store)
    assert after.recover() == []
    assert after.get(request_id).status is RequestStatus.CANCELLED
    assert store.load_requests()[0].status is RequestStatus.CANCELLED
    after.run_pending()
    assert store.checkpoints(request_id) == []


def test_a_submit_the_store_did_not_confirm_is_not_queued() -> None:
    store = DownStore()
    orch = Orchestrator(Provider(), store, store)
    store.down = True
    with pytest.raises(TransientError):
        orch.submit(SPEC, idempotency_key="k")
    store.down = False
    assert orch.requests() == [] and store.load_requests() == []
    orch.run_pending()
    assert store.writes == 0
    again = orch.submit(SPEC, idempotency_key="k")  # the key is free: nothing stands behind it
    assert [v.request_id for v in orch.requests()] == [again.request_id]


class FlakyStore(MemoryStore):
    """Refuses the next ``refusals`` request records (a broker restarting), then takes them."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 0
        self.refused = 0

    def save_request(self, record: RequestRecord) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            self.refused += 1
            raise TransientError("not acknowledged")
        super().save_request(record)


def test_the_worker_waits_for_the_store_instead_of_losing_its_state() -> None:
    store = FlakyStore()
    config = OrchestratorConfig(retry=RetryPolicy(base_delay_s=0.001, max_delay_s=0.01))
    orch = Orchestrator(Provider(), store, store, config)
    request_id = orch.submit(SPEC).request_id
    store.refusals = 3  # "Running" is refused three times, then stored
    orch.run_pending()
    assert store.refused == 3
    assert orch.get(request_id).status is RequestStatus.COMPLETED
    [stored] = store.load_requests()
    assert stored.status is RequestStatus.COMPLETED and stored.started_at is not None


class NotReadyStore(MemoryStore):
    """Its first reads fail as a Kafka topic without a leader yet does (NOT_LEADER_FOR_PARTITION
    right after the topics were created, or a broker restarting)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]:
        if self.failures:
            self.failures -= 1
            raise TransientError("cannot read checkpoints: Not leader for partition")
        return super().checkpoints(request_id)


def test_start_waits_for_a_store_not_ready_and_recovers_each_request_once() -> None:
    store = NotReadyStore(failures=0)
    first = Orchestrator(Provider(), store, store)
    request_id = first.submit(SPEC).request_id  # stored Queued, never run
    store.failures = 2
    fast = OrchestratorConfig(retry=RetryPolicy(base_delay_s=0.01, max_delay_s=0.02))
    again = Orchestrator(Provider(), store, store, fast)
    again.start()  # on main: TransientError out of start(), the API's startup fails
    try:
        wait_for(lambda: again.get(request_id).status is RequestStatus.COMPLETED, 30, "the run")
        assert store.failures == 0
        assert len(again.requests()) == 1
        assert len(store.checkpoints(request_id)) == again.get(request_id).total_chunks == 24
    finally:
        again.stop()

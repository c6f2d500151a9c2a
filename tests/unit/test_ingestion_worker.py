"""IngestionWorker: cycles pipelined (encode N+1 while N is made durable), commits in order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pyarrow as pa
import pytest

from naia.domain.errors import TransientError
from naia.domain.ports import InboxMessage
from naia.ingestion import IngestionWorker
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.transports.kafka.codec import ARROW_CONTENT_TYPE, encode_batch
from tests.conftest import DAY_START, SEED_POINTS
from tests.doubles.inbox import DecodingInbox

WAIT_S = 10.0


def messages(count: int) -> list[InboxMessage]:
    source = SimulatorSource(SimulatorSettings(batch_rows=60))
    from datetime import timedelta

    batches = list(source.read(SEED_POINTS, DAY_START, DAY_START + timedelta(hours=count)))
    return [
        InboxMessage("naia.datapoints.backfill", i % 2, i, None, encode_batch(b),
                     {"content-type": ARROW_CONTENT_TYPE.encode()})
        for i, b in enumerate(batches[:count])
    ]  # fmt: skip


class Inbox(DecodingInbox):
    def __init__(self, pending: list[InboxMessage]) -> None:
        self.pending = pending
        self.events: list[str] = []
        self.committed: list[list[int]] = []

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]:
        taken, self.pending = self.pending[:max_messages], self.pending[max_messages:]
        if taken:
            self.events.append(f"poll {[m.offset for m in taken]}")
        return taken

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        offsets = [m.offset for m in messages]
        self.events.append(f"commit {offsets}")
        self.committed.append(offsets)

    def dead_letter(self, message: InboxMessage, reason: str) -> None:
        raise AssertionError(reason)

    def close(self) -> None:
        pass


class Sink:
    """Records what each durable step carried; ``gate`` holds durable steps until set."""

    def __init__(self, events: list[str], fail_on: int | None = None) -> None:
        self.events = events
        self.rows: list[int] = []
        self.durable_rows: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on = fail_on
        self._cycle = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows.append(batch.num_rows)

    def prepare(self) -> Callable[[], None]:
        rows, self.rows = sum(self.rows), []
        self._cycle += 1
        cycle = self._cycle
        self.events.append(f"prepare {cycle}")

        def durable() -> None:
            assert self.gate.wait(WAIT_S), "durable step never released"
            if cycle == self.fail_on:
                raise TransientError(f"cycle {cycle} refused")
            self.durable_rows.append(rows)
            self.events.append(f"durable {cycle}")

        return durable

    def flush(self) -> None:
        self.prepare()()

    def close(self) -> None:
        pass


def test_a_cycle_is_committed_only_after_it_is_durable_and_in_order() -> None:
    inbox = Inbox(messages(6))
    sink = Sink(inbox.events)
    worker = IngestionWorker(inbox, [sink], max_messages=2)
    assert worker.step() == 2
    assert inbox.committed == []  # cycle 1 in flight
    assert worker.step() == 2
    assert inbox.committed == [[0, 1]]
    assert worker.step() == 2 and worker.step() == 0  # nothing left: drains
    assert inbox.committed == [[0, 1], [2, 3], [4, 5]]
    for n in (1, 2, 3):
        assert inbox.events.index(f"durable {n}") < inbox.events.index(
            f"commit {[2 * n - 2, 2 * n - 1]}"
        )
    assert worker.stats.messages == 6 and worker.stats.commits == 3
    assert worker.stats.values == sum(sink.durable_rows) > 0


def test_the_next_cycle_is_prepared_while_the_previous_one_is_made_durable() -> None:
    inbox = Inbox(messages(4))
    sink = Sink(inbox.events)
    sink.gate.clear()  # cycle 1's durable step blocks ...
    worker = IngestionWorker(inbox, [sink], max_messages=2)
    worker.step()
    released = threading.Timer(0.2, sink.gate.set)
    released.start()
    worker.step()  # ... yet cycle 2 was polled and prepared before waiting for it
    released.join()
    assert inbox.events.index("prepare 2") < inbox.events.index("durable 1")
    worker.drain()
    assert inbox.committed == [[0, 1], [2, 3]]


def test_a_failed_durable_step_commits_nothing_of_its_cycle() -> None:
    inbox = Inbox(messages(6))
    worker = IngestionWorker(inbox, [Sink(inbox.events, fail_on=2)], max_messages=2)
    worker.step()
    worker.step()
    with pytest.raises(TransientError, match="cycle 2 refused"):
        worker.step()
    assert inbox.committed == [[0, 1]]


def test_run_until_stopped_leaves_every_cycle_committed() -> None:
    inbox = Inbox(messages(5))
    sink = Sink(inbox.events)
    worker = IngestionWorker(inbox, [sink], max_messages=2, poll_timeout=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if worker.stats.messages == 5:
                break
            deadline.wait(0.02)
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    assert [o for c in inbox.committed for o in c] == [0, 1, 2, 3, 4]

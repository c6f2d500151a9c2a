"""IngestionWorker: cycles pipelined (encode N+1 while N is made durable), commits in order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import pyarrow as pa
import pytest

from naia.domain.errors import DependencyUnavailableError, GenerationLostError
from naia.domain.ports import InboxMessage
from naia.ingestion import IngestionWorker
from naia.kernel.backoff import Backoff
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.transports.kafka.codec import ARROW_CONTENT_TYPE, encode_batch
from tests.conftest import DAY_START, SEED_POINTS
from tests.doubles.inbox import DecodingInbox

WAIT_S = 10.0
FAST = Backoff(0.001, 0.002)


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

    def __init__(
        self, events: list[str], fail_on: int | None = None, failures: int = 1, name: str = ""
    ) -> None:
        self.events = events
        self.rows: list[int] = []
        self.durable_rows: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on = fail_on
        self.failures = failures  # attempts of cycle ``fail_on`` that fail
        self.name = name
        self.attempts = 0
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
            self.attempts += 1
            if cycle == self.fail_on and self.failures > 0:
                self.failures -= 1
                self.events.append(f"{self.name}failed {cycle}")
                raise DependencyUnavailableError("questdb", f"cycle {cycle} refused")
            self.durable_rows.append(rows)
            self.events.append(f"{self.name}durable {cycle}")

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


class Observer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_ingested(self, values: int, messages: int) -> None:
        pass

    def on_dead_letter(self) -> None:
        pass

    def on_dependency(self, dependency: str, up: bool) -> None:
        self.events.append(f"{dependency} {'up' if up else 'down'}")

    def on_retry(self, dependency: str) -> None:
        self.events.append(f"retry {dependency}")


def test_a_failed_durable_step_is_tried_again_from_the_failed_sink_and_then_committed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "naia.ingest")
    inbox = Inbox(messages(6))
    first = Sink(inbox.events, name="a ")
    second = Sink(inbox.events, fail_on=2, failures=3, name="b ")
    observer = Observer()
    worker = IngestionWorker(
        inbox, [first, second], max_messages=2, observer=observer, backoff=FAST
    )
    worker.step()
    worker.step()
    worker.step()  # waits for cycle 2: three failed attempts, then durable
    assert inbox.committed == [[0, 1], [2, 3]]
    events = inbox.events
    assert events.count("b failed 2") == 3 and events.count("a durable 2") == 1  # not resent
    assert events.index("b durable 2") < events.index("commit [2, 3]")
    assert "commit [2, 3]" not in events[: events.index("b durable 2")]
    assert observer.events == ["questdb down", *["retry questdb"] * 3, "questdb up"]
    outage = [r for r in caplog.records if "questdb: unavailable" in r.getMessage()]
    assert len(outage) == 1 and outage[0].levelname == "WARNING"  # one line per episode
    assert any("questdb answers again" in r.getMessage() for r in caplog.records)
    worker.drain()
    assert inbox.committed[-1] == [4, 5]


def test_nothing_more_is_polled_while_a_cycle_cannot_be_made_durable() -> None:
    inbox = Inbox(messages(8))
    sink = Sink(inbox.events, fail_on=1, failures=5)
    worker = IngestionWorker(inbox, [sink], max_messages=2, backoff=FAST)
    worker.step()  # cycle 1 in flight, failing
    worker.step()  # cycle 2 polled and prepared, then waits for cycle 1 to be durable
    polls = [e for e in inbox.events if e.startswith("poll")]
    assert polls == ["poll [0, 1]", "poll [2, 3]"]
    assert inbox.events.index("durable 1") < inbox.events.index("commit [0, 1]")
    assert sink.attempts == 6


def test_stopped_during_an_outage_the_cycle_is_left_uncommitted() -> None:
    inbox = Inbox(messages(4))
    sink = Sink(inbox.events, fail_on=1, failures=10**6)
    worker = IngestionWorker(inbox, [sink], max_messages=2, poll_timeout=0.01, backoff=FAST)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    wait_until(lambda: sink.attempts >= 3)
    stop.set()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert inbox.committed == []


class FlakyInbox(Inbox):
    """Kafka away for the first ``outage`` polls; the first commit refused (lost generation)."""

    def __init__(self, pending: list[InboxMessage], outage: int) -> None:
        super().__init__(pending)
        self.outage = outage
        self.lose_generation = True

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]:
        if self.outage > 0:
            self.outage -= 1
            raise DependencyUnavailableError("kafka", "Connection refused")
        return super().poll(max_messages, timeout)

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        if self.lose_generation:
            self.lose_generation = False
            raise GenerationLostError("UNKNOWN_MEMBER_ID")
        super().commit(messages)


def test_kafka_away_at_poll_and_a_lost_generation_at_commit_do_not_stop_the_worker() -> None:
    inbox = FlakyInbox(messages(4), outage=3)
    observer = Observer()
    worker = IngestionWorker(inbox, [Sink(inbox.events)], max_messages=2, observer=observer,
                             poll_timeout=0.01, backoff=FAST)  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: inbox.committed == [[2, 3]])
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    assert observer.events[:4] == ["kafka down", *["retry kafka"] * 3]
    assert "kafka up" in observer.events
    assert worker.stats.commits_dropped == 1  # cycle [0, 1]: its messages come again


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = threading.Event()
    for _ in range(500):
        if predicate():
            return
        deadline.wait(0.02)
    raise AssertionError("condition not reached")


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


def test_an_idle_worker_still_runs_the_sinks_durable_steps() -> None:
    """Nothing to ingest: the sinks are still checked (Redis found empty is filled again)."""
    inbox = Inbox([])
    sink = Sink(inbox.events)
    worker = IngestionWorker(inbox, [sink], idle_check_s=0.0, backoff=FAST)
    assert worker.step() == 0 and worker.step() == 0
    assert inbox.events.count("durable 1") == 1 and inbox.events.count("durable 2") == 1
    assert inbox.committed == [] and worker.stats.commits == 0

"""The shared plumbing: backoff, retry loop, token bucket, bounded pump, groups."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from naia.kernel.backoff import Backoff, call_with_retry
from naia.kernel.bucket import TokenBucket
from naia.kernel.groups import groups
from naia.kernel.pump import prefetch, pump


class FlakyError(Exception):
    pass


def test_backoff_grows_with_equal_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=1, max_s=8)
    rng = random.Random(1)
    caps = [1, 2, 4, 8, 8, 8]
    delays = [backoff.delay(n, rng) for n in range(1, 7)]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True))
    assert backoff.delay(3, rng, floor=11.0) == 11.0  # a Retry-After longer than the wait wins
    assert 2 <= backoff.delay(3, rng, floor=0.1) <= 4  # a shorter one does not shorten it


def test_call_with_retry_waits_between_attempts_and_gives_up_with_the_last_error() -> None:
    calls: list[int] = []
    sleeps: list[float] = []
    told: list[int] = []

    def fn() -> int:
        calls.append(1)
        raise FlakyError(f"failure {len(calls)}")

    with pytest.raises(FlakyError, match="failure 3"):
        call_with_retry(
            fn, attempts=3, backoff=Backoff(0.5, 30), retry_on=FlakyError, sleep=sleeps.append,
            on_retry=lambda n, e, w: told.append(n), rng=random.Random(2),
        )  # fmt: skip
    assert len(calls) == 3
    assert told == [1, 2]
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_call_with_retry_lets_other_errors_through_at_once() -> None:
    sleeps: list[float] = []

    def fn() -> int:
        raise ValueError("permanent")

    with pytest.raises(ValueError, match="permanent"):
        call_with_retry(fn, attempts=5, backoff=Backoff(), retry_on=FlakyError, sleep=sleeps.append)
    assert sleeps == []


def test_call_with_retry_returns_after_a_transient_failure() -> None:
    outcomes = iter([FlakyError("once"), 42])

    def fn() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    sleeps: list[float] = []
    result = call_with_retry(
        fn, attempts=2, backoff=Backoff(), retry_on=FlakyError, sleep=sleeps.append,
        floor=lambda e: 7.0,
    )  # fmt: skip
    assert result == 42
    assert sleeps == [7.0]


def _fake_time() -> tuple[list[float], list[float], TokenBucket]:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    return now, sleeps, TokenBucket(100.0, clock=lambda: now[0], sleep=sleep)


def test_token_bucket_pay_after_waits_off_its_debt() -> None:
    now, sleeps, bucket = _fake_time()
    bucket.wait()
    assert sleeps == []  # a second's worth of burst
    bucket.spend(300)
    bucket.wait()
    assert sleeps == [pytest.approx(2.0)]
    now[0] += 10
    bucket.spend(50)
    bucket.wait()
    assert len(sleeps) == 1


def test_token_bucket_pay_before_sleeps_for_what_exceeds_the_burst() -> None:
    _now, sleeps, bucket = _fake_time()
    bucket.acquire(100)
    assert sleeps == []
    bucket.acquire(50)
    assert sleeps == [pytest.approx(0.5)]


def test_token_bucket_at_rate_zero_is_off() -> None:
    sleeps: list[float] = []
    off = TokenBucket(0.0, clock=lambda: 0.0, sleep=sleeps.append)
    off.spend(10**9)
    off.wait()
    off.acquire(10**9)
    assert sleeps == []


def test_groups_cut_in_order_and_refuse_size_zero() -> None:
    assert [list(g) for g in groups([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(groups([], 3)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(groups([1], 0))


def _counting(start: int, n: int) -> Iterator[int]:
    yield from range(start, start + n)


@pytest.mark.parametrize(("threads", "depth"), [(0, 0), (1, 1), (3, 2), (8, 4)])
def test_pump_yields_every_item_of_every_task(threads: int, depth: int) -> None:
    tasks = [lambda s=s: _counting(s * 100, 50) for s in range(5)]
    got = list(pump(tasks, threads=threads, depth=depth))
    assert sorted(got) == [s * 100 + i for s in range(5) for i in range(50)]


def test_pump_keeps_each_tasks_order() -> None:
    tasks = [lambda s=s: _counting(s * 100, 30) for s in range(4)]
    got = list(pump(tasks, threads=4, depth=2))
    for s in range(4):
        mine = [x for x in got if s * 100 <= x < s * 100 + 100]
        assert mine == sorted(mine)


def test_pump_reraises_a_task_error_in_the_consumer() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("reader failed")

    with pytest.raises(RuntimeError, match="reader failed"):
        list(pump([broken], threads=1, depth=1))


def test_pump_bounds_how_far_the_readers_run_ahead() -> None:
    produced: list[int] = []

    def task() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    items = prefetch(task(), depth=2)
    assert next(items) == 0
    deadline = threading.Event()
    deadline.wait(0.3)  # give the reader every chance to run ahead
    assert len(produced) <= 1 + 2 + 1  # the taken item, the queue, one in hand
    items.close()  # type: ignore[attr-defined]


def test_a_consumer_that_stops_early_closes_the_task_iterator() -> None:
    closed = threading.Event()

    def task() -> Iterator[int]:
        try:
            yield from range(10**6)
        finally:
            closed.set()

    items = pump([task], threads=1, depth=2)
    assert next(iter(items)) == 0
    items.close()  # type: ignore[attr-defined]
    assert closed.wait(5)

"""CachedCounter: one QuestDB count serves every status call for a couple of seconds."""

from __future__ import annotations

from datetime import datetime

import pytest

from naia.app.stored import CachedCounter
from naia.domain.errors import TransientError
from tests.conftest import DAY_END, DAY_START


class Counting:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.value = 10

    def __call__(self, points: tuple[str, ...], start: datetime, end: datetime) -> int:
        self.calls.append(points)
        return self.value


def test_answers_are_reused_until_they_are_stale() -> None:
    now = [100.0]
    inner = Counting()
    cached = CachedCounter(inner, ttl_s=2.0, clock=lambda: now[0])
    assert cached(("A",), DAY_START, DAY_END) == 10
    inner.value = 20
    now[0] += 1.9
    assert cached(("A",), DAY_START, DAY_END) == 10  # fresh enough: no second query
    assert cached(("B",), DAY_START, DAY_END) == 20  # another request asks again
    now[0] += 0.2
    assert cached(("A",), DAY_START, DAY_END) == 20  # stale: asked again
    assert inner.calls == [("A",), ("B",), ("A",)]


def test_the_cache_stays_bounded() -> None:
    inner = Counting()
    cached = CachedCounter(inner, max_entries=3, clock=lambda: 0.0)
    for name in "ABCDE":
        cached((name,), DAY_START, DAY_END)
    cached(("A",), DAY_START, DAY_END)  # evicted: asked again
    cached(("E",), DAY_START, DAY_END)  # kept
    assert inner.calls == [("A",), ("B",), ("C",), ("D",), ("E",), ("A",)]


def test_after_a_failure_every_count_fails_at_once_until_retry_after() -> None:
    now = [0.0]
    calls: list[str] = []

    def hanging(points: tuple[str, ...], start: datetime, end: datetime) -> int:
        calls.append(points[0])
        if now[0] < 10:
            raise TransientError("QuestDB at http://127.0.0.1:1 unreachable: ReadTimeout")
        return 7

    cached = CachedCounter(hanging, retry_after_s=5.0, clock=lambda: now[0])
    for name in "ABC":  # one slow failure, then the others answer at once with its reason
        with pytest.raises(TransientError, match="ReadTimeout"):
            cached((name,), DAY_START, DAY_END)
    assert calls == ["A"]
    now[0] = 10.0
    assert cached(("B",), DAY_START, DAY_END) == 7
    assert calls == ["A", "B"]

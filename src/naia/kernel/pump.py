"""A bounded thread pump: run iterator-producing tasks on threads, consume their items in one.

At most ``depth`` items wait in the queue, so memory stays bounded by the item size. An error in
a task is re-raised in the consumer; a consumer that stops early (break, close, error) stops the
threads, and each task's iterator is closed on the thread that ran it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

Task = Callable[[], Iterator[T]]

_POLL_S = 0.1
_JOIN_S = 30.0


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    value: T


_DONE = object()


def pump(
    tasks: Sequence[Task[T]],
    threads: int,
    depth: int,
    name: str = "naia-pump",
    join_s: float = _JOIN_S,
) -> Iterator[T]:
    """Items of every task, as they come, from up to ``threads`` threads.

    ``threads`` < 1 or ``depth`` < 1 runs the tasks inline, one after another, in the caller.
    When the consumer stops, it waits up to ``join_s`` for the threads to end (0: not at all,
    for threads that may sit in a long network read; they end at their next item).
    """
    if threads < 1 or depth < 1:
        return (item for task in tasks for item in task())
    return _pumped(tasks, min(threads, max(len(tasks), 1)), depth, name, join_s)


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Read ``items`` ahead on one thread, at most ``depth`` of them; 0 reads inline."""
    if depth < 1:
        return items
    return pump([lambda: items], threads=1, depth=depth, name="naia-prefetch")


def _pumped(
    tasks: Sequence[Task[T]], threads: int, depth: int, name: str, join_s: float
) -> Iterator[T]:
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    todo = iter(tasks)
    todo_lock = threading.Lock()

    def next_task() -> Task[T] | None:
        with todo_lock:
            return next(todo, None)

    def work() -> None:
        try:
            while not stop.is_set() and (task := next_task()) is not None:
                if not _run(task, slots, stop):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(slots, _Failed(exc), stop)
        finally:
            _put(slots, _DONE, stop)

    workers = [
        threading.Thread(target=work, name=f"{name}-{i}", daemon=True) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    return _consume(slots, stop, workers, join_s)


def _run(task: Task[T], slots: queue.Queue[object], stop: threading.Event) -> bool:
    """Put every item of one task; False when the consumer has gone."""
    items = task()
    try:
        return all(_put(slots, _Item(item), stop) for item in items)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _consume(
    slots: queue.Queue[object],
    stop: threading.Event,
    workers: list[threading.Thread],
    join_s: float,
) -> Iterator[T]:
    finished = 0
    try:
        while finished < len(workers):
            entry = slots.get()
            if entry is _DONE:
                finished += 1
            elif isinstance(entry, _Failed):
                raise entry.error
            else:
                assert isinstance(entry, _Item)
                yield entry.value
    finally:
        stop.set()
        _drain(slots)
        for worker in workers if join_s > 0 else ():
            worker.join(timeout=join_s)


def _put(slots: queue.Queue[object], entry: object, stop: threading.Event) -> bool:
    """Put unless the consumer has gone (``stop``); False when it has."""
    while not stop.is_set():
        try:
            slots.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _drain(slots: queue.Queue[object]) -> None:
    while True:
        try:
            slots.get_nowait()
        except queue.Empty:
            return

"""Read ahead: run a batch iterator in a helper thread so fetching overlaps writing.

At most ``depth`` batches wait in the queue, so memory stays bounded by the batch size. An error
in the reader is re-raised in the consumer; a consumer that stops early stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_DONE = object()


def prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    if depth <= 0:
        yield from batches
        return
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read, args=(batches, slots, stop), name="naia-prefetch", daemon=True
    )
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        _drain(slots)
        reader.join(timeout=30)


def _read(
    batches: Iterator[pa.RecordBatch], slots: queue.Queue[object], stop: threading.Event
) -> None:
    try:
        for batch in batches:
            if not _put(slots, batch, stop):
                return
        _put(slots, _DONE, stop)
    except BaseException as exc:  # handed to the consumer, which re-raises it
        _put(slots, _Failed(exc), stop)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _put(slots: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            slots.put(item, timeout=0.1)
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

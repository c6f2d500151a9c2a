"""Protect the source: pace batches through a values/s token bucket, cancel between batches."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from naia.domain.errors import RequestCancelledError
from naia.kernel.bucket import TokenBucket


def guarded(
    batches: Iterable[pa.RecordBatch],
    limiter: TokenBucket,
    cancelled: threading.Event,
    on_batch: Callable[[int], None],
) -> Iterator[pa.RecordBatch]:
    """Pass batches through, paced by ``limiter``; RequestCancelledError when cancelled."""
    for batch in batches:
        if cancelled.is_set():
            raise RequestCancelledError("cancelled")
        limiter.acquire(batch.num_rows)
        on_batch(batch.num_rows)
        yield batch
    if cancelled.is_set():
        raise RequestCancelledError("cancelled")

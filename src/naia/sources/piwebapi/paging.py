"""Count-based paging of recorded values for a group of streams, many streams a round trip.

PI Web API truncates a recorded read at maxCount values without saying so. A page holding
exactly maxCount values therefore means "maybe more": the stream continues at its last timestamp
and skips the events of that timestamp it already holds (several events may share one
timestamp; all are real). A short page ends the stream. ``boundaryType=Inside`` returns values
at both ends; values at ``end`` belong to the next window and are dropped here.

Round trips: while every unfinished stream of the group continues from the same time (always
the first round), one ``GET /streamsets/recorded`` carries them all; once they diverge, one
``POST /batch`` carries one ``/streams/{webId}/recorded`` per stream, each from its own time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from naia.domain.errors import SourceError, UnknownPointError
from naia.domain.schema import points_batch, seq_numbers
from naia.domain.timeparse import format_timestamp, from_us
from naia.sources.piwebapi.client import (
    PageSizeTooLargeError,
    PiWebApiClient,
    parse_retry_after,
    raise_for_status,
    raise_for_web_exception,
)
from naia.sources.piwebapi.decode import (
    BATCH,
    I64,
    STREAMSET,
    BatchResponse,
    Columns,
    StreamValues,
    batch_columns,
    stream_columns,
    streamset_columns,
)

log = logging.getLogger(__name__)

_VALUE_FIELDS = ("Timestamp", "Value", "Good", "Questionable", "Substituted", "Annotated")
STREAM_FIELDS = ";".join([f"Items.{f}" for f in _VALUE_FIELDS] + ["WebException"])
STREAMSET_FIELDS = ";".join(
    ["Items.WebId", "Items.WebException", "WebException"]
    + [f"Items.Items.{f}" for f in _VALUE_FIELDS]
)
# a thin read (verification counts): timestamps only, the rest of each value left out
THIN_STREAM_FIELDS = "Items.Timestamp;WebException"
THIN_STREAMSET_FIELDS = "Items.WebId;Items.WebException;WebException;Items.Items.Timestamp"


@dataclass(slots=True)
class Cursor:
    """Where one stream continues: from ``start_us``, skipping ``skip`` events already taken."""

    point: str  # the address as requested: becomes source_address
    webid: str
    start_us: int
    skip: int = 0
    done: bool = False


class PageSizer:
    """maxCount shared by every group of one source; lowered when the server refuses it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()

    @property
    def current(self) -> int:
        return self._size

    def lower(self, used: int, limit: int | None) -> None:
        with self._lock:
            if self._size < used:
                return  # another group lowered it already
            new = limit if limit is not None and limit < used else used // 2
            if new < 1:
                raise SourceError("PI Web API refuses even maxCount=1; check the server limits")
            log.warning("PI Web API refused maxCount=%d; using %d", used, new)
            self._size = new


def read_group(
    client: PiWebApiClient,
    sizer: PageSizer,
    streams: Sequence[tuple[str, str]],
    start_us: int,
    end_us: int,
    *,
    thin: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Batches of every (point, webid) of ``streams`` over [start_us, end_us), a round trip each.
    ``thin``: timestamps only (values NaN, flags default) — for counting events."""
    cursors = [Cursor(point, webid, start_us) for point, webid in streams]
    while pending := [c for c in cursors if not c.done]:
        pages, max_count = _fetch_sized(client, sizer, pending, end_us, thin)
        taken = [
            advance(c, page, max_count, end_us) for c, page in zip(pending, pages, strict=True)
        ]
        if any(len(part) for part, _ in taken):
            yield round_batch([c.point for c in pending], taken)


Taken = tuple[Columns, npt.NDArray[np.int16]]
"""A stream's new events of one round trip, and their seq."""


def advance(cursor: Cursor, page: Columns, max_count: int, end_us: int) -> Taken:
    """The page's new events in [cursor, end) with their seq; move the cursor past them."""
    ts = page.ts_us
    n = len(page)
    if n > 1 and bool((ts[1:] < ts[:-1]).any()):
        raise SourceError(f"PI Web API returned {cursor.point} out of time order")
    before = int(np.searchsorted(ts, cursor.start_us, side="left"))
    at_start = int(np.searchsorted(ts, cursor.start_us, side="right"))
    first = min(before + cursor.skip, at_start)
    stop = max(first, int(np.searchsorted(ts, end_us, side="left")))
    part = page.slice(first, stop)
    seq = seq_numbers(part.ts_us)
    if first > before:  # events at the cursor's time taken by the page before
        seq[part.ts_us == cursor.start_us] += np.int16(first - before)
    _move(cursor, ts, n, max_count, reached_end=stop < n)
    return part, seq


def round_batch(points: list[str], taken: list[Taken]) -> pa.RecordBatch:
    """One batch of a round trip's streams: their columns concatenated, one Arrow build."""
    parts = [part for part, _ in taken]
    states = [part.state for part in parts]
    all_null = all(state.null_count == len(state) for state in states)
    return points_batch(
        points,
        [len(part) for part in parts],
        np.concatenate([part.ts_us for part in parts]),
        np.concatenate([part.value for part in parts]),
        None if all_null else pa.concat_arrays(states),
        np.concatenate([part.good for part in parts]),
        np.concatenate([seq for _, seq in taken]),
        np.concatenate([part.questionable for part in parts]),
        np.concatenate([part.substituted for part in parts]),
        np.concatenate([part.annotated for part in parts]),
    )


def _move(cursor: Cursor, ts: I64, n: int, max_count: int, *, reached_end: bool) -> None:
    if n < max_count or reached_end:
        cursor.done = True
        return
    last = int(ts[-1])
    run = n - int(np.searchsorted(ts, last, side="left"))  # events at `last` in this page
    if last == cursor.start_us and run <= cursor.skip:
        raise SourceError(
            f"{cursor.point} holds more than {max_count} events at "
            f"{format_timestamp(from_us(last))}; raise page_size"
        )
    cursor.start_us, cursor.skip = last, run


def _fetch_sized(
    client: PiWebApiClient, sizer: PageSizer, pending: list[Cursor], end_us: int, thin: bool
) -> tuple[list[Columns], int]:
    while True:
        size = sizer.current
        try:
            return fetch(client, pending, size, end_us, thin=thin), size
        except PageSizeTooLargeError as exc:
            sizer.lower(size, exc.limit)


def fetch(
    client: PiWebApiClient,
    pending: list[Cursor],
    max_count: int,
    end_us: int,
    *,
    thin: bool = False,
) -> list[Columns]:
    """One round trip: a page of every pending stream, in ``pending`` order."""
    if len({c.start_us for c in pending}) == 1:
        fields = THIN_STREAMSET_FIELDS if thin else STREAMSET_FIELDS
        return _fetch_streamset(client, pending, max_count, end_us, fields)
    return _fetch_batch(
        client, pending, max_count, end_us, THIN_STREAM_FIELDS if thin else STREAM_FIELDS
    )


def _params(start_us: int, end_us: int, max_count: int, fields: str) -> list[tuple[str, str]]:
    return [
        ("startTime", format_timestamp(from_us(start_us))),
        ("endTime", format_timestamp(from_us(end_us))),
        ("boundaryType", "Inside"),
        ("maxCount", str(max_count)),
        ("selectedFields", fields),
    ]


def _quoted(text: str) -> str:
    """As ``urlencode`` quotes a value (``quote_plus``; a timestamp has no space)."""
    return quote(text, safe="")


@lru_cache(maxsize=64)
def _query_rest(end_us: int, max_count: int, fields: str) -> str:
    """The query after ``startTime``, as ``urlencode(_params(...))`` writes it."""
    return "&" + urlencode(_params(0, end_us, max_count, fields)[1:])


def _fetch_streamset(
    client: PiWebApiClient, pending: list[Cursor], max_count: int, end_us: int, fields: str
) -> list[Columns]:
    params = [("webId", c.webid) for c in pending]
    params += _params(pending[0].start_us, end_us, max_count, fields)
    what = "GET /streamsets/recorded"

    def decode(body: memoryview) -> list[Columns]:
        fast = streamset_columns(body)  # the plain success shape, in one pass
        if fast is not None:
            order = _order([webid for webid, _ in fast], pending, what)
            return [fast[i][1] for i in order]
        streamset = STREAMSET.decode(body)
        if streamset.WebException is not None:
            raise_for_web_exception(streamset.WebException, what)
        order = _order([item.WebId for item in streamset.Items], pending, what)
        items = [streamset.Items[i] for i in order]
        return [_stream(item, c.point, what) for item, c in zip(items, pending, strict=True)]

    return client.get("/streamsets/recorded", params, decode)


def _fetch_batch(
    client: PiWebApiClient, pending: list[Cursor], max_count: int, end_us: int, fields: str
) -> list[Columns]:
    rest = _query_rest(end_us, max_count, fields)  # the same for every stream of the round
    requests = {
        str(i): {
            "Method": "GET",
            "Resource": f"{client.base_url}/streams/{c.webid}/recorded?startTime="
            f"{_quoted(format_timestamp(from_us(c.start_us)))}{rest}",
        }
        for i, c in enumerate(pending)
    }
    what = "POST /batch"

    def decode(body: memoryview) -> list[Columns]:
        fast = batch_columns(body)  # every sub-response a 200 recorded read, in one pass
        if fast is not None and all(str(i) in fast for i in range(len(pending))):
            return [fast[str(i)] for i in range(len(pending))]
        responses = BATCH.decode(body)
        return [
            _batch_item(client, responses.get(str(i)), c.point, what) for i, c in enumerate(pending)
        ]

    return client.post("/batch", msgspec.json.encode(requests), decode)


def _order(webids: list[str | None], pending: list[Cursor], what: str) -> list[int]:
    """Positions of the returned streams in request order: by WebId when the server echoes
    ours, else by position."""
    if len(webids) != len(pending):
        raise SourceError(f"PI Web API {what} returned {len(webids)} streams for {len(pending)}")
    where = {webid: i for i, webid in enumerate(webids)}
    if len(where) == len(webids) and all(c.webid in where for c in pending):
        return [where[c.webid] for c in pending]
    return list(range(len(webids)))


def _batch_item(
    client: PiWebApiClient, response: BatchResponse | None, point: str, what: str
) -> Columns:
    if response is None:
        raise SourceError(f"PI Web API {what} returned no response for {point}")
    content = response.Content
    if response.Status == 200 and isinstance(content, StreamValues):
        return _stream(content, point, what)
    message = _content_message(content)
    if response.Status == 404:
        raise UnknownPointError([point])
    retry_after = parse_retry_after(_header(response.Headers, "Retry-After"), client.retry)
    raise_for_status(response.Status, message, retry_after, f"{what} for {point}")
    raise SourceError(f"PI Web API {what} for {point}: unexpected content ({message})")


def _stream(values: StreamValues, point: str, what: str) -> Columns:
    if values.WebException is not None:
        if values.WebException.StatusCode == 404:
            raise UnknownPointError([point])
        raise_for_web_exception(values.WebException, f"{what} for {point}")
    return stream_columns(values.Items)


def _content_message(content: StreamValues | str | None) -> str:
    if isinstance(content, str):
        return content[:500]
    if content is not None and content.Errors:
        return "; ".join(content.Errors)[:500]
    if content is not None and content.Message:
        return content.Message[:500]
    return "no message"


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)

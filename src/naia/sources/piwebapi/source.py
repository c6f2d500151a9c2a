"""PiWebApiSource: recorded history from AVEVA/OSIsoft PI Web API (connectorType ``PIWebApi``).

Points are split into groups of ``points_per_request`` streams; each group pages through the
window (see ``paging``) and up to ``max_concurrency`` groups run at once on worker threads. The
iterator stays synchronous: batches come back through a queue holding at most
``max_concurrency`` of them, so memory is bounded by the page size, not the window.
"""

from __future__ import annotations

import importlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from types import TracebackType

import httpx
import pyarrow as pa

from naia.domain.counting import tally_rows
from naia.domain.errors import SourceError, UnknownPointError
from naia.domain.model import WindowGrid
from naia.domain.ports import PointWindowTallies
from naia.domain.timeparse import to_us
from naia.kernel.groups import groups
from naia.kernel.pump import pump
from naia.sources.piwebapi.client import Importer, PiWebApiClient, raise_for_web_exception
from naia.sources.piwebapi.decode import POINTS, PointItems
from naia.sources.piwebapi.paging import PageSizer, read_group
from naia.sources.piwebapi.settings import PiWebApiSettings
from naia.sources.piwebapi.webid import path_webid, point_path

LOOKUP_CHUNK = 50  # paths per /points/multiple request: keeps the URL well under 4 KB
LOOKUP_FIELDS = "Items.Identifier;Items.Object.WebId;Items.Exception"

Task = Callable[[], Iterator[pa.RecordBatch]]


class PiWebApiSource:
    """A Source over PI Web API. ``transport`` lets tests serve it with ``httpx.MockTransport``."""

    def __init__(
        self,
        settings: PiWebApiSettings,
        transport: httpx.BaseTransport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        importer: Importer = importlib.import_module,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        """``on_request`` is told each HTTP request's duration in seconds (latency metrics)."""
        self._settings = settings
        self._client = PiWebApiClient(
            settings, transport, sleep=sleep, rng=rng, importer=importer, on_request=on_request
        )
        self._sizer = PageSizer(settings.page_size)
        self._webids: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def page_size(self) -> int:
        """maxCount now in use (lower than configured once the server refused it)."""
        return self._sizer.current

    @property
    def retries(self) -> int:
        """HTTP requests repeated so far (RetryCounting: counted in the request's retries)."""
        return self._client.retries

    def check_points(self, points: Sequence[str]) -> None:
        """Resolve every point with the server; UnknownPointError names all unknown ones."""
        self._lookup(points)

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        start_us, end_us = to_us(start), to_us(end)
        if not points or end_us <= start_us:
            return iter(())
        streams = self._streams(points)
        tasks: list[Task] = [
            partial(read_group, self._client, self._sizer, group, start_us, end_us)
            for group in groups(streams, self._settings.points_per_request)
        ]
        return fan_out(tasks, self._settings.max_concurrency)

    def tally_events(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        """Count and key fingerprint per window from a thin read: the recorded values of
        [grid.start, grid.end) with their timestamps only (``selectedFields``), paged exactly as
        ``read`` pages, seq numbered across pages as ``read`` numbers it. The summary
        (``summaryType=Count``) is not used: AVEVA documents EventWeighted counts as closed at
        both ends for one interval (see docs/verify.md)."""
        return tally_rows(self._thin_read(points, grid), points, grid)

    def _thin_read(self, points: Sequence[str], grid: WindowGrid) -> Iterator[pa.RecordBatch]:
        start_us, end_us = to_us(grid.start), to_us(grid.end)
        if not points or end_us <= start_us:
            return iter(())
        streams = self._streams(points)
        tasks: list[Task] = [
            partial(read_group, self._client, self._sizer, group, start_us, end_us, thin=True)
            for group in groups(streams, self._settings.points_per_request)
        ]
        return fan_out(tasks, self._settings.max_concurrency)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PiWebApiSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _streams(self, points: Sequence[str]) -> list[tuple[str, str]]:
        """(point as requested, WebId) for each point, in order."""
        paths = [point_path(self._settings.data_archive, p) for p in points]
        if self._settings.webid_mode == "path":
            return [(p, path_webid(path)) for p, path in zip(points, paths, strict=True)]
        self._lookup(points)
        return [(p, self._webids[path.upper()]) for p, path in zip(points, paths, strict=True)]

    def _lookup(self, points: Sequence[str]) -> None:
        archive = self._settings.data_archive
        with self._lock:
            missing = [p for p in points if point_path(archive, p).upper() not in self._webids]
        unknown: list[str] = []
        for chunk in groups(missing, LOOKUP_CHUNK):
            found = self._lookup_chunk(chunk)
            with self._lock:
                self._webids.update({k: v for k, v in found.items() if v is not None})
            unknown += [p for p in chunk if found[_key(archive, p)] is None]
        if unknown:
            raise UnknownPointError(unknown)

    def _lookup_chunk(self, points: Sequence[str]) -> dict[str, str | None]:
        """Upper-cased path → WebId (None when the server does not know the point)."""
        paths = [point_path(self._settings.data_archive, p) for p in points]
        params = [("path", path) for path in paths] + [("selectedFields", LOOKUP_FIELDS)]
        items = self._client.get("/points/multiple", params, POINTS.decode)
        return _webids_by_path(items, paths)


def _key(archive: str, point: str) -> str:
    return point_path(archive, point).upper()


def _webids_by_path(items: PointItems, paths: list[str]) -> dict[str, str | None]:
    what = "GET /points/multiple"
    if items.WebException is not None:
        raise_for_web_exception(items.WebException, what)
    if len(items.Items) != len(paths):
        raise SourceError(f"PI Web API {what} returned {len(items.Items)} items for {len(paths)}")
    return {
        path.upper(): item.Object.WebId if item.Object is not None and item.Object.WebId else None
        for path, item in zip(paths, items.Items, strict=True)
    }


def fan_out(tasks: Sequence[Task], workers: int) -> Iterator[pa.RecordBatch]:
    """Run ``tasks`` on up to ``workers`` threads; yield their batches as they come (at most
    ``workers`` waiting, so memory is bounded by the page size)."""
    if workers <= 1 or len(tasks) <= 1:
        return (batch for task in tasks for batch in task())
    return pump(tasks, threads=workers, depth=workers, name="piwebapi", join_s=0.0)

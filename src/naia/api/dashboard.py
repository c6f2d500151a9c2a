"""The operator dashboard: the page at ``/``, its static files, and throughput samples.

The page (``static/index.html`` + ``dashboard.js`` + ``dashboard.css``, no build step, no CDN)
polls the backfill API. The throughput chart reads ``/api/dashboard/throughput/{id}``: samples
of (time, values committed) kept by a ``ThroughputRecorder`` thread while the app runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from naia.api.schemas import ErrorBody, Ok, ThroughputBody, error_responses
from naia.app.wiring import Runtime
from naia.domain.model import RequestStatus
from naia.orchestrator.views import RequestView

log = logging.getLogger("naia.api.dashboard")

STATIC = resources.files("naia.api").joinpath("static")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass
class Series:
    """(time, values done) samples of one request; halves its resolution when full."""

    capacity: int
    interval: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    closed: bool = False

    def add(self, now: float, values: int, force: bool = False) -> None:
        if self.samples and not force and now - self.samples[-1][0] < self.interval * 0.999:
            return
        if len(self.samples) >= self.capacity:
            self.samples = deque(list(self.samples)[::2])
            self.interval *= 2
        self.samples.append((now, values))


class ThroughputRecorder:
    """Samples every running request's committed values once per ``interval`` seconds.

    A series keeps at most ``capacity`` samples: when full, every other one is dropped and the
    interval doubles, so a run of days is covered whole at a coarser step.
    """

    def __init__(
        self,
        requests: Callable[[], list[RequestView]],
        *,
        interval: float = 1.0,
        capacity: int = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._requests = requests
        self._interval = interval
        self._capacity = capacity
        self._clock = clock
        self._series: dict[str, Series] = {}
        self._lock = threading.Lock()

    def sample(self) -> None:
        views = self._requests()
        now = self._clock()
        with self._lock:
            for view in views:
                self._sample_one(view, now)
            known = {v.request_id for v in views}
            for request_id in self._series.keys() - known:
                del self._series[request_id]

    def _sample_one(self, view: RequestView, now: float) -> None:
        series = self._series.get(view.request_id)
        if view.status is RequestStatus.RUNNING:
            if series is None:
                series = self._series[view.request_id] = Series(self._capacity, self._interval)
            series.closed = False
            series.add(now, view.points_processed)
        elif series is not None and not series.closed:
            series.add(now, view.points_processed, force=True)
            series.closed = True

    def samples(self, request_id: str) -> tuple[list[tuple[float, int]], float]:
        """The samples of one request (oldest first) and their current spacing in seconds."""
        with self._lock:
            series = self._series.get(request_id)
            if series is None:
                return [], self._interval
            return list(series.samples), series.interval

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            try:
                self.sample()
            except Exception:  # the chart must never take the API down
                log.exception("throughput sampling failed")


def _static(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    resource = STATIC.joinpath(name)
    if "/" in name or suffix not in CONTENT_TYPES or not resource.is_file():
        missing = ErrorBody(error=f"no static file '{name}'")
        return JSONResponse(missing.model_dump(mode="json"), 404)
    return Response(resource.read_bytes(), media_type=CONTENT_TYPES[suffix], headers=NO_CACHE)


def dashboard_router(runtime: Runtime, recorder: ThroughputRecorder | None = None) -> APIRouter:
    """``/``, ``/static/{name}`` and ``/api/dashboard/throughput/{id}``; samples while running."""
    orch = runtime.orchestrator
    rec = recorder or ThroughputRecorder(orch.requests)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(target=rec.run, args=(stop,), name="naia-throughput")
        thread.daemon = True
        thread.start()
        yield
        stop.set()
        thread.join(5.0)

    router = APIRouter(lifespan=lifespan)

    @router.get("/", include_in_schema=False)
    def index() -> Response:
        return _static("index.html")

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return _static(name)

    @router.get(
        "/api/dashboard/throughput/{requestId}",
        tags=["dashboard"],
        response_model=Ok[ThroughputBody],
        responses=error_responses(404, 413),
    )
    def throughput(requestId: str) -> JSONResponse:  # noqa: N803
        """Samples [unix seconds, values committed] of a request, for the throughput chart."""
        orch.get(requestId)  # 404 for an unknown id
        samples, interval = rec.samples(requestId)
        data = ThroughputBody(
            requestId=requestId,
            intervalSeconds=interval,
            samples=[(round(t, 3), v) for t, v in samples],
        )
        return JSONResponse({"success": True, "data": data.model_dump(mode="json")})

    return router

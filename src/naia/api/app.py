"""FastAPI application: /api/backfill/*, /health, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import naia
from naia.api.dashboard import dashboard_router
from naia.api.schemas import (
    StartRequest,
    chunk_map_view,
    queued_view,
    request_view,
    stats_view,
)
from naia.app.metrics import render
from naia.app.wiring import Runtime
from naia.domain.errors import (
    ConnectorUnavailableError,
    InvalidRequestError,
    NaiaError,
    NotFoundError,
)
from naia.domain.model import RequestStatus
from naia.orchestrator.views import RequestView

RECENT = 50


def ok(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status_code)


def fail(status_code: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status_code)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return f"malformed JSON body: {first.get('msg', '')}", None
    field = ".".join(loc) if loc else None
    return f"{field}: {first.get('msg', 'invalid')}" if field else first.get("msg", ""), field


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _validation_message(exc)
        return fail(400, message, field)

    @app.exception_handler(InvalidRequestError)
    async def _bad(_: Request, exc: InvalidRequestError) -> JSONResponse:
        return fail(400, str(exc), exc.field)

    @app.exception_handler(ConnectorUnavailableError)
    async def _unavailable(_: Request, exc: ConnectorUnavailableError) -> JSONResponse:
        return fail(400, f"connectorType: {exc}", "connectorType")

    @app.exception_handler(NotFoundError)
    async def _missing(_: Request, exc: NotFoundError) -> JSONResponse:
        return fail(404, str(exc))


def create_app(runtime: Runtime, *, start_worker: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            runtime.orchestrator.start()
        yield
        if start_worker:
            runtime.orchestrator.stop()

    app = FastAPI(
        title="NAIA backfill API",
        version=naia.__version__,
        description="Backfill PI historian data into a time-series store, resumable, exactly once.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    _routes(app, runtime)
    app.include_router(dashboard_router(runtime))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text exposition of this process's registry."""
        body, content_type = render(runtime.metrics.registry)
        return Response(body, media_type=content_type)

    return app


def with_stored(runtime: Runtime, view: RequestView, body: dict[str, Any]) -> dict[str, Any]:
    """Distributed mode: add what is queryable in QuestDB next to what was published."""
    counter = runtime.stored_counter
    if counter is None:
        return body
    body["storedReason"] = None
    try:
        stored: int | None = counter(view.points, view.start, view.end)
    except NaiaError as exc:
        stored = None
        body["storedReason"] = f"stored count unavailable: {exc}"
    body["storedValues"] = stored
    if stored is None:
        body["storedProgress"] = None
        body["storedComplete"] = False
        return body
    published = view.points_processed
    share = min(1.0, stored / published) if published else 0.0
    body["storedProgress"] = round(view.progress * share, 2)
    body["storedComplete"] = view.status is RequestStatus.COMPLETED and stored >= published
    return body


def _routes(app: FastAPI, runtime: Runtime) -> None:
    orch = runtime.orchestrator

    @app.post("/api/backfill/start", tags=["backfill"], status_code=200)
    def start(body: StartRequest) -> JSONResponse:
        """Queue a backfill. Bad input is a 400 naming the field; nothing is queued."""
        return ok(queued_view(orch.submit(body.to_spec())))

    @app.get("/api/backfill/status", tags=["backfill"])
    def status() -> JSONResponse:
        views = orch.requests()
        stats = orch.stats()
        active = [with_stored(runtime, v, request_view(v)) for v in views if v.status.is_active]
        recent = [request_view(v) for v in views if not v.status.is_active][-RECENT:]
        return ok(
            {
                "activeRequests": active,
                "recentRequests": recent,
                "stats": stats_view(stats),
                "queueDepth": stats.queue_depth,
            }
        )

    @app.get("/api/backfill/request/{requestId}", tags=["backfill"])
    def get_request(requestId: str) -> JSONResponse:  # noqa: N803
        view = orch.get(requestId)
        return ok(with_stored(runtime, view, request_view(view, detail=True)))

    @app.get("/api/backfill/request/{requestId}/chunks", tags=["backfill"])
    def get_chunks(requestId: str) -> JSONResponse:  # noqa: N803
        return ok(chunk_map_view(orch.chunk_map(requestId)))

    @app.post("/api/backfill/request/{requestId}/cancel", tags=["backfill"])
    def cancel(requestId: str) -> JSONResponse:  # noqa: N803
        return ok(request_view(orch.cancel(requestId), detail=True))

    @app.post("/api/backfill/request/{requestId}/retry-failed", tags=["backfill"])
    def retry_failed(requestId: str) -> JSONResponse:  # noqa: N803
        return ok(request_view(orch.retry_failed(requestId), detail=True))

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        connectors = runtime.sources.availability()
        running = sum(1 for v in orch.requests() if v.status is RequestStatus.RUNNING)
        return ok(
            {
                "status": "Healthy",
                "version": naia.__version__,
                "mode": runtime.settings.mode,
                "connectors": {
                    name: {"available": reason is None, "reason": reason}
                    for name, reason in connectors.items()
                },
                "runningRequests": running,
            }
        )

"""FastAPI application: /api/backfill/*, /health, OpenAPI at /docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

import naia
from naia.api.dashboard import dashboard_router
from naia.api.limits import BodyLimit
from naia.api.schemas import (
    ChunkMapBody,
    ConnectorHealth,
    ErrorBody,
    HealthBody,
    Ok,
    QueuedRequest,
    RequestDetail,
    RequestSummary,
    StartRequest,
    StatusBody,
    chunk_map_view,
    error_responses,
    queued_view,
    request_detail,
    request_view,
    stats_view,
    unknown_field_message,
)
from naia.api.verify import verify_router
from naia.app.metrics import render
from naia.app.wiring import Runtime
from naia.domain.errors import (
    ConflictError,
    ConnectorUnavailableError,
    InvalidRequestError,
    NaiaError,
    NotFoundError,
    TransientError,
)
from naia.domain.model import RequestStatus
from naia.orchestrator.views import RequestView

log = logging.getLogger("naia.api")

RECENT = 50
RETRY_AFTER_S = 5


def ok(data: BaseModel, status_code: int = 200) -> JSONResponse:
    """``{"success": true, "data": ...}``; fields never set (the stored* ones in embedded mode)
    are left out."""
    body = {"success": True, "data": data.model_dump(mode="json", exclude_unset=True)}
    return JSONResponse(body, status_code=status_code)


def fail(
    status_code: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=message, field=field).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "header", "path", "query")]
    if first.get("type") == "json_invalid":
        return f"malformed JSON body: {first.get('ctx', {}).get('error', '')}".rstrip(": "), None
    field = ".".join(loc) if loc else None
    if first.get("type") == "extra_forbidden" and loc:
        return unknown_field_message(loc[-1]), loc[-1]
    message = str(first.get("msg", "invalid"))
    return (f"{field}: {message}" if field else f"request body: {message}"), field


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as ``{"success": false, "error": ..., "field": ...}``."""

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

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return fail(409, str(exc), exc.field)

    @app.exception_handler(TransientError)
    async def _busy(_: Request, exc: TransientError) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        return fail(503, f"unavailable, nothing was done; retry later: {exc}", None, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return fail(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", exc)
        return fail(500, f"internal error: {type(exc).__name__}")


def contract_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated OpenAPI without FastAPI's 422 (validation errors are 400s here)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def create_app(
    runtime: Runtime, *, start_worker: bool = True, owns_runtime: bool = False
) -> FastAPI:
    """``owns_runtime``: close the runtime (stores: DuckDB's CHECKPOINT) when the app shuts
    down, before the server re-raises the SIGTERM that stopped it (`naia api`)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            runtime.orchestrator.start()
        yield
        if start_worker:
            runtime.orchestrator.stop()
        if owns_runtime:
            runtime.close()

    app = FastAPI(
        title="NAIA backfill API",
        version=naia.__version__,
        description="Backfill PI historian data into a time-series store, resumable, exactly once.",
        lifespan=lifespan,
    )
    from naia.api.fleet import fleet_router

    app.include_router(fleet_router(runtime))
    install_error_handlers(app)
    _routes(app, runtime)
    app.include_router(dashboard_router(runtime))
    app.include_router(verify_router(runtime))
    app.openapi = contract_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.api.max_body_bytes)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text exposition of this process's registry."""
        body, content_type = render(runtime.metrics.registry)
        return Response(body, media_type=content_type)

    return app


SummaryT = TypeVar("SummaryT", bound=RequestSummary)


def with_stored(runtime: Runtime, view: RequestView, body: SummaryT) -> SummaryT:
    """Distributed mode: add what is queryable in QuestDB next to what was published."""
    counter = runtime.stored_counter
    if counter is None:
        return body
    reason: str | None = None
    try:
        stored: int | None = counter(view.points, view.start, view.end)
    except NaiaError as exc:
        stored = None
        reason = f"stored count unavailable: {exc}"
    if stored is None:
        unknown = {"storedValues": None, "storedProgress": None, "storedComplete": False}
        return _updated(body, {**unknown, "storedReason": reason})
    published = view.points_processed
    share = min(1.0, stored / published) if published else 0.0
    extra = {
        "storedValues": stored,
        "storedProgress": round(view.progress * share, 2),
        "storedComplete": view.status is RequestStatus.COMPLETED and stored >= published,
        "storedReason": None,
    }
    return _updated(body, extra)


def _updated(body: SummaryT, extra: dict[str, Any]) -> SummaryT:
    """A copy with ``extra`` set (so that it is serialised, unlike the unset stored fields)."""
    return type(body).model_validate({**body.model_dump(exclude_unset=True), **extra})


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The same key with the same body answers the first request again; "
        "with another body, 409.",
    ),
]


def _routes(app: FastAPI, runtime: Runtime) -> None:
    orch = runtime.orchestrator

    @app.post(
        "/api/backfill/start",
        tags=["backfill"],
        response_model=Ok[QueuedRequest],
        responses=error_responses(400, 409, 413, 503),
    )
    def start(body: StartRequest, key: IdempotencyKey = None) -> JSONResponse:
        """Queue a backfill. Bad input is a 400 naming the field; nothing is queued."""
        return ok(queued_view(orch.submit(body.to_spec(), idempotency_key=key)))

    @app.get(
        "/api/backfill/status",
        tags=["backfill"],
        response_model=Ok[StatusBody],
        responses=error_responses(413),
    )
    def status() -> JSONResponse:
        views = orch.requests()
        stats = orch.stats()
        active = [with_stored(runtime, v, request_view(v)) for v in views if v.status.is_active]
        recent = [request_view(v) for v in views if not v.status.is_active][-RECENT:]
        return ok(
            StatusBody(
                activeRequests=active,
                recentRequests=recent,
                stats=stats_view(stats),
                queueDepth=stats.queue_depth,
            )
        )

    @app.get(
        "/api/backfill/request/{requestId}",
        tags=["backfill"],
        response_model=Ok[RequestDetail],
        responses=error_responses(404, 413),
    )
    def get_request(requestId: str) -> JSONResponse:  # noqa: N803
        view = orch.get(requestId)
        return ok(with_stored(runtime, view, request_detail(view)))

    @app.get(
        "/api/backfill/request/{requestId}/chunks",
        tags=["backfill"],
        response_model=Ok[ChunkMapBody],
        responses=error_responses(404, 413),
    )
    def get_chunks(requestId: str) -> JSONResponse:  # noqa: N803
        return ok(chunk_map_view(orch.chunk_map(requestId)))

    @app.post(
        "/api/backfill/request/{requestId}/cancel",
        tags=["backfill"],
        response_model=Ok[RequestDetail],
        responses=error_responses(404, 413, 503),
    )
    def cancel(requestId: str) -> JSONResponse:  # noqa: N803
        """Cancel a request. A 200 means the cancel is durable: it survives a crash."""
        return ok(request_detail(orch.cancel(requestId)))

    @app.post(
        "/api/backfill/request/{requestId}/retry-failed",
        tags=["backfill"],
        response_model=Ok[RequestDetail],
        responses=error_responses(400, 404, 413, 503),
    )
    def retry_failed(requestId: str) -> JSONResponse:  # noqa: N803
        return ok(request_detail(orch.retry_failed(requestId)))

    @app.get(
        "/health", tags=["health"], response_model=Ok[HealthBody], responses=error_responses(413)
    )
    def health() -> JSONResponse:
        connectors = runtime.sources.availability()
        running = sum(1 for v in orch.requests() if v.status is RequestStatus.RUNNING)
        return ok(
            HealthBody(
                status="Healthy",
                version=naia.__version__,
                mode=runtime.settings.mode,
                connectors={
                    name: ConnectorHealth(available=reason is None, reason=reason)
                    for name, reason in connectors.items()
                },
                runningRequests=running,
            )
        )

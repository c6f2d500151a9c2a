"""The typed HTTP contract: the request body and every response body, camelCase as the seed
shows them. The API answers with these models, OpenAPI documents them, and the CLI's client
(`naia status`) reads them back with the same classes."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from naia.domain.errors import InvalidRequestError
from naia.domain.model import DEFAULT_CHUNK, BackfillSpec, ChunkState, ConnectorType, RequestStatus
from naia.domain.timeparse import format_timespan, format_timestamp, parse_duration, parse_timestamp
from naia.orchestrator.views import ChunkMap, RequestView, Stats


class StartRequest(BaseModel):
    """Body of POST /api/backfill/start. A field it does not know is a 400 naming it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "connectorType": "Simulator",
                "pointAddresses": ["SINUSOID", "CDT158", "SINUSOIDU"],
                "startTime": "2026-01-09T00:00:00Z",
                "endTime": "2026-01-10T00:00:00Z",
                "chunkSize": "01:00:00",
            }
        },
    )

    connectorType: str = Field(description="PIAfSdk, PIWebApi or Simulator")  # noqa: N815
    pointAddresses: list[str] = Field(description="PI point names (tags)")  # noqa: N815
    startTime: str = Field(description="ISO-8601 with zone, inclusive")  # noqa: N815
    endTime: str = Field(description="ISO-8601 with zone, exclusive")  # noqa: N815
    chunkSize: str | None = Field(  # noqa: N815
        default=None, description=".NET TimeSpan (30.00:00:00) or ISO-8601 (P30D); default 30 days"
    )

    def to_spec(self) -> BackfillSpec:
        chunk = self.chunkSize
        return BackfillSpec(
            connector_type=parse_connector(self.connectorType),
            points=tuple(p.strip() for p in self.pointAddresses),
            start=parse_timestamp(self.startTime, "startTime"),
            end=parse_timestamp(self.endTime, "endTime"),
            chunk_size=parse_duration(chunk) if chunk is not None else DEFAULT_CHUNK,
        )


def parse_connector(text: str) -> ConnectorType:
    for connector in ConnectorType:
        if connector.value.lower() == text.strip().lower():
            return connector
    choices = ", ".join(c.value for c in ConnectorType)
    raise InvalidRequestError("connectorType", f"'{text}' is not one of {choices}")


def unknown_field_message(name: str) -> str:
    """``chunksize: unknown field; did you mean 'chunkSize'?`` (case and typos forgiven)."""
    known = list(StartRequest.model_fields)
    by_case = {k.lower(): k for k in known}
    match = by_case.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, known, n=1, cutoff=0.6)), None
    )
    hint = f"; did you mean '{match}'?" if match else f"; the fields are {', '.join(known)}"
    return f"{name}: unknown field{hint}"


# Responses ------------------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(_Body):
    """Every error: a 4xx (or 503) with what went wrong and, when one is to blame, the field."""

    success: Literal[False] = False
    error: str
    field: str | None = None


class RequestIdentity(_Body):
    requestId: str  # noqa: N815
    connectorType: ConnectorType  # noqa: N815
    pointCount: int  # noqa: N815
    startTime: str  # noqa: N815
    endTime: str  # noqa: N815
    chunkSize: str  # noqa: N815
    status: RequestStatus


class QueuedRequest(RequestIdentity):
    """The answer to POST /api/backfill/start (the seed's shape)."""

    totalChunks: int  # noqa: N815
    message: str


class RequestSummary(RequestIdentity):
    progress: float
    totalChunks: int  # noqa: N815
    completedChunks: int  # noqa: N815
    failedChunks: int  # noqa: N815
    pointsProcessed: int  # noqa: N815
    batchesPublished: int  # noqa: N815
    queuedAt: str | None  # noqa: N815
    startedAt: str | None  # noqa: N815
    completedAt: str | None  # noqa: N815
    valuesPerSecond: float | None  # noqa: N815
    etaSeconds: float | None  # noqa: N815
    estimatedCompletion: str | None  # noqa: N815
    retries: int
    error: str | None
    # distributed mode only: what QuestDB holds next to what was published
    storedValues: int | None = None  # noqa: N815
    storedProgress: float | None = None  # noqa: N815
    storedComplete: bool | None = None  # noqa: N815
    storedReason: str | None = None  # noqa: N815


class RequestDetail(RequestSummary):
    pointAddresses: list[str]  # noqa: N815
    failedChunkErrors: dict[str, str]  # noqa: N815


class StatsBody(_Body):
    completedRequests: int  # noqa: N815
    failedRequests: int  # noqa: N815
    cancelledRequests: int  # noqa: N815
    totalPointsBackfilled: int  # noqa: N815
    totalBatchesPublished: int  # noqa: N815
    failedChunks: int  # noqa: N815


class StatusBody(_Body):
    activeRequests: list[RequestSummary]  # noqa: N815
    recentRequests: list[RequestSummary]  # noqa: N815
    stats: StatsBody
    queueDepth: int  # noqa: N815


class ChunkMapBody(_Body):
    windows: list[tuple[str, str]]
    pointGroups: list[list[str]]  # noqa: N815
    states: list[ChunkState]


class ConnectorHealth(_Body):
    available: bool
    reason: str | None


class HealthBody(_Body):
    status: str
    version: str
    mode: str
    connectors: dict[str, ConnectorHealth]
    runningRequests: int  # noqa: N815


class ThroughputBody(_Body):
    requestId: str  # noqa: N815
    intervalSeconds: float  # noqa: N815
    samples: list[tuple[float, int]]


ERROR_TEXT = {
    400: "Bad input; `field` names it. Nothing was done.",
    404: "No request with this id.",
    409: "The Idempotency-Key was used before for a different request.",
    413: "The request body is larger than api.max_body_bytes; it was not read.",
    503: "A dependency (Kafka) did not answer in time; nothing was done. See Retry-After.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the error answers an operation can give, each with the error body."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


DataT = TypeVar("DataT", bound=BaseModel)


class Ok(_Body, Generic[DataT]):
    """Every success: ``{"success": true, "data": ...}``."""

    success: Literal[True] = True
    data: DataT


# Views: domain snapshots → response models ---------------------------------------------------
def _ts(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def _identity(view: RequestView) -> dict[str, object]:
    return {
        "requestId": view.request_id,
        "connectorType": view.connector_type,
        "pointCount": view.point_count,
        "startTime": format_timestamp(view.start),
        "endTime": format_timestamp(view.end),
        "chunkSize": format_timespan(timedelta(seconds=view.chunk_size_s)),
        "status": view.status,
    }


def queued_view(view: RequestView) -> QueuedRequest:
    """The seed's response to POST /api/backfill/start."""
    start, end = view.start.date().isoformat(), view.end.date().isoformat()
    return QueuedRequest.model_validate(
        {
            **_identity(view),
            "totalChunks": view.total_chunks,
            "message": f"Backfill queued: {view.point_count} points from {start} to {end}",
        }
    )


def _progress(view: RequestView) -> dict[str, object]:
    return {
        **_identity(view),
        "progress": view.progress,
        "totalChunks": view.total_chunks,
        "completedChunks": view.completed_chunks,
        "failedChunks": view.failed_chunks,
        "pointsProcessed": view.points_processed,
        "batchesPublished": view.batches_published,
        "queuedAt": _ts(view.queued_at),
        "startedAt": _ts(view.started_at),
        "completedAt": _ts(view.completed_at),
        "valuesPerSecond": round(view.values_per_second) if view.values_per_second else None,
        "etaSeconds": round(view.eta_seconds, 1) if view.eta_seconds is not None else None,
        "estimatedCompletion": _ts(view.estimated_completion),
        "retries": view.retries,
        "error": view.error,
    }


def request_view(view: RequestView) -> RequestSummary:
    return RequestSummary.model_validate(_progress(view))


def request_detail(view: RequestView) -> RequestDetail:
    return RequestDetail.model_validate(
        {
            **_progress(view),
            "pointAddresses": list(view.points),
            "failedChunkErrors": {str(k): v for k, v in view.failed_chunk_errors.items()},
        }
    )


def stats_view(stats: Stats) -> StatsBody:
    return StatsBody(
        completedRequests=stats.completed_requests,
        failedRequests=stats.failed_requests,
        cancelledRequests=stats.cancelled_requests,
        totalPointsBackfilled=stats.total_points_backfilled,
        totalBatchesPublished=stats.total_batches_published,
        failedChunks=stats.failed_chunks,
    )


def chunk_map_view(chunks: ChunkMap) -> ChunkMapBody:
    return ChunkMapBody(
        windows=[(format_timestamp(a), format_timestamp(b)) for a, b in chunks.windows],
        pointGroups=[list(g) for g in chunks.groups],
        states=list(chunks.states),
    )

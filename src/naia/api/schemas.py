"""Request parsing and JSON views, camelCase as the seed shows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from naia.domain.errors import InvalidRequestError
from naia.domain.model import DEFAULT_CHUNK, BackfillSpec, ConnectorType
from naia.domain.timeparse import format_timespan, format_timestamp, parse_duration, parse_timestamp
from naia.orchestrator.views import ChunkMap, RequestView, Stats


class StartRequest(BaseModel):
    """Body of POST /api/backfill/start."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "connectorType": "Simulator",
                "pointAddresses": ["SINUSOID", "CDT158", "SINUSOIDU"],
                "startTime": "2026-01-09T00:00:00Z",
                "endTime": "2026-01-10T00:00:00Z",
                "chunkSize": "01:00:00",
            }
        }
    )

    connectorType: str = Field(description="PIAfSdk, PIWebApi or Simulator")  # noqa: N815
    pointAddresses: list[str] = Field(description="PI point names (tags)")  # noqa: N815
    startTime: str = Field(description="ISO-8601 with zone, inclusive")  # noqa: N815
    endTime: str = Field(description="ISO-8601 with zone, exclusive")  # noqa: N815
    chunkSize: str | None = Field(  # noqa: N815
        default=None, description=".NET TimeSpan (30.00:00:00) or ISO-8601 (P30D); default 30 days"
    )

    def to_spec(self) -> BackfillSpec:
        return BackfillSpec(
            connector_type=parse_connector(self.connectorType),
            points=tuple(p.strip() for p in self.pointAddresses),
            start=parse_timestamp(self.startTime, "startTime"),
            end=parse_timestamp(self.endTime, "endTime"),
            chunk_size=parse_duration(self.chunkSize) if self.chunkSize else DEFAULT_CHUNK,
        )


def parse_connector(text: str) -> ConnectorType:
    for connector in ConnectorType:
        if connector.value.lower() == text.strip().lower():
            return connector
    choices = ", ".join(c.value for c in ConnectorType)
    raise InvalidRequestError("connectorType", f"'{text}' is not one of {choices}")


def _ts(value: Any) -> str | None:
    return format_timestamp(value) if value is not None else None


def _identity(view: RequestView) -> dict[str, Any]:
    return {
        "requestId": view.request_id,
        "connectorType": view.connector_type.value,
        "pointCount": view.point_count,
        "startTime": format_timestamp(view.start),
        "endTime": format_timestamp(view.end),
        "chunkSize": format_timespan(timedelta(seconds=view.chunk_size_s)),
        "status": view.status.value,
    }


def queued_view(view: RequestView) -> dict[str, Any]:
    """The seed's response to POST /api/backfill/start."""
    start, end = view.start.date().isoformat(), view.end.date().isoformat()
    return {
        **_identity(view),
        "totalChunks": view.total_chunks,
        "message": f"Backfill queued: {view.point_count} points from {start} to {end}",
    }


def request_view(view: RequestView, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
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
    if detail:
        body["pointAddresses"] = list(view.points)
        body["failedChunkErrors"] = {str(k): v for k, v in view.failed_chunk_errors.items()}
    return body


def stats_view(stats: Stats) -> dict[str, Any]:
    return {
        "completedRequests": stats.completed_requests,
        "failedRequests": stats.failed_requests,
        "cancelledRequests": stats.cancelled_requests,
        "totalPointsBackfilled": stats.total_points_backfilled,
        "totalBatchesPublished": stats.total_batches_published,
        "failedChunks": stats.failed_chunks,
    }


def chunk_map_view(chunks: ChunkMap) -> dict[str, Any]:
    return {
        "windows": [[format_timestamp(a), format_timestamp(b)] for a, b in chunks.windows],
        "pointGroups": [list(g) for g in chunks.groups],
        "states": [s.value for s in chunks.states],
    }

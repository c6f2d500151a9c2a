"""JSON form of a RequestRecord (msgspec), as stored in naia_requests and on Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from naia.domain.model import BackfillSpec, ConnectorType, RequestRecord, RequestStatus


class _SpecJson(msgspec.Struct, frozen=True):
    connector_type: str
    points: list[str]
    start: datetime
    end: datetime
    chunk_us: int


class _RecordJson(msgspec.Struct, frozen=True):
    request_id: str
    spec: _SpecJson
    status: str
    queued_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed_units: dict[int, str] = {}
    error: str | None = None
    cancel_requested: bool = False
    idempotency_key: str | None = None


def record_to_json(record: RequestRecord) -> str:
    spec = record.spec
    body = _RecordJson(
        request_id=record.request_id,
        spec=_SpecJson(
            connector_type=spec.connector_type.value,
            points=list(spec.points),
            start=spec.start,
            end=spec.end,
            chunk_us=spec.chunk_size // timedelta(microseconds=1),
        ),
        status=record.status.value,
        queued_at=record.queued_at,
        started_at=record.started_at,
        completed_at=record.completed_at,
        failed_units=dict(record.failed_units),
        error=record.error,
        cancel_requested=record.cancel_requested,
        idempotency_key=record.idempotency_key,
    )
    return msgspec.json.encode(body).decode()


def record_from_json(text: str) -> RequestRecord:
    body = msgspec.json.decode(text, type=_RecordJson)
    spec = BackfillSpec(
        connector_type=ConnectorType(body.spec.connector_type),
        points=tuple(body.spec.points),
        start=body.spec.start,
        end=body.spec.end,
        chunk_size=timedelta(microseconds=body.spec.chunk_us),
    )
    return RequestRecord(
        request_id=body.request_id,
        spec=spec,
        status=RequestStatus(body.status),
        queued_at=body.queued_at,
        started_at=body.started_at,
        completed_at=body.completed_at,
        failed_units=dict(body.failed_units),
        error=body.error,
        cancel_requested=body.cancel_requested,
        idempotency_key=body.idempotency_key,
    )

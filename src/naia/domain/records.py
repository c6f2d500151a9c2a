"""JSON form of a RequestRecord (msgspec), as stored in naia_requests and on Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from naia.domain.model import (
    BackfillSpec,
    ConnectorType,
    Mismatch,
    RequestRecord,
    RequestStatus,
    Verification,
    VerificationStatus,
)


class _SpecJson(msgspec.Struct, frozen=True):
    connector_type: str
    points: list[str]
    start: datetime
    end: datetime
    chunk_us: int


class _MismatchJson(msgspec.Struct, frozen=True, array_like=True):
    point: str
    window: int
    start: datetime
    end: datetime
    source: int
    stored: int
    duplicates: int


class _VerificationJson(msgspec.Struct, frozen=True):
    status: str
    checked_at: datetime
    windows_checked: int = 0
    windows_skipped: int = 0
    source_events: int = 0
    stored_events: int = 0
    mismatches: list[_MismatchJson] = []
    error: str | None = None
    repair: bool = False
    repaired_units: list[int] = []
    seconds: float = 0.0


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
    verification: _VerificationJson | None = None
    repair_units: list[int] = []


def _verification_to_json(v: Verification | None) -> _VerificationJson | None:
    if v is None:
        return None
    return _VerificationJson(
        status=v.status.value,
        checked_at=v.checked_at,
        windows_checked=v.windows_checked,
        windows_skipped=v.windows_skipped,
        source_events=v.source_events,
        stored_events=v.stored_events,
        mismatches=[
            _MismatchJson(m.point, m.window, m.start, m.end, m.source, m.stored, m.duplicates)
            for m in v.mismatches
        ],
        error=v.error,
        repair=v.repair,
        repaired_units=list(v.repaired_units),
        seconds=v.seconds,
    )


def _verification_from_json(v: _VerificationJson | None) -> Verification | None:
    if v is None:
        return None
    return Verification(
        status=VerificationStatus(v.status),
        checked_at=v.checked_at,
        windows_checked=v.windows_checked,
        windows_skipped=v.windows_skipped,
        source_events=v.source_events,
        stored_events=v.stored_events,
        mismatches=tuple(
            Mismatch(m.point, m.window, m.start, m.end, m.source, m.stored, m.duplicates)
            for m in v.mismatches
        ),
        error=v.error,
        repair=v.repair,
        repaired_units=tuple(v.repaired_units),
        seconds=v.seconds,
    )


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
        verification=_verification_to_json(record.verification),
        repair_units=sorted(record.repair_units),
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
        verification=_verification_from_json(body.verification),
        repair_units=set(body.repair_units),
    )

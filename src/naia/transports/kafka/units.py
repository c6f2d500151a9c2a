"""Wire format of fleet fetching (docs/messages.md): unit records, dispatch markers, outcomes.

- ``naia.backfill.units`` (partitioned, key ``requestId:unitIndex``): one work unit each.
- ``naia.backfill.fleet`` (compacted, one partition): key ``dispatch:<requestId>`` → the units
  handed out so far and the run each went out in; key ``outcome:<requestId>:<unitIndex>`` → how
  a fetcher settled the unit (done, failed, skipped); key ``reading:<fetcherId>`` → what the
  fetcher reads now (announced outside the transactions, for the views only).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from naia.domain.errors import DecodeError
from naia.domain.fleet import Dispatch, Outcome, Reading, UnitOrder
from naia.domain.model import Chunk, ConnectorType

UNIT_CONTENT_TYPE = b"application/vnd.naia.unit+json"


class UnitJson(msgspec.Struct, frozen=True):
    request_id: str
    index: int
    connector_type: str
    points: list[str]
    start: datetime
    end: datetime
    window: int
    group: int
    run: int


class DispatchJson(msgspec.Struct, frozen=True):
    request_id: str
    owner: str
    runs: list[tuple[int, int, int]]  # (run, first unit, last unit + 1): contiguous ranges
    at: datetime


class OutcomeJson(msgspec.Struct, frozen=True, omit_defaults=True):
    request_id: str
    index: int
    run: int
    kind: str
    fetcher: str
    at: datetime
    error: str | None = None
    values: int = 0
    seconds: float = 0.0


class ReadingJson(msgspec.Struct, frozen=True):
    fetcher: str
    request_id: str | None
    index: int | None
    at: datetime


def unit_key(request_id: str, index: int) -> bytes:
    return f"{request_id}:{index}".encode()


def dispatch_key(request_id: str) -> bytes:
    return f"dispatch:{request_id}".encode()


def outcome_key(request_id: str, index: int) -> bytes:
    return f"outcome:{request_id}:{index}".encode()


def reading_key(fetcher: str) -> bytes:
    return f"reading:{fetcher}".encode()


def encode_reading(reading: Reading) -> bytes:
    r = reading
    return msgspec.json.encode(ReadingJson(r.fetcher, r.request_id, r.unit_index, r.since))


def decode_reading(payload: bytes) -> Reading:
    b = msgspec.json.decode(payload, type=ReadingJson)
    return Reading(b.fetcher, b.request_id, b.index, b.at)


def encode_unit(order: UnitOrder) -> bytes:
    u = order.unit
    body = UnitJson(u.request_id, u.index, order.connector_type.value, list(u.points),
                    u.start, u.end, u.window, u.group, order.run)  # fmt: skip
    return msgspec.json.encode(body)


def decode_unit(payload: bytes) -> UnitOrder:
    try:
        b = msgspec.json.decode(payload, type=UnitJson)
        connector = ConnectorType(b.connector_type)
    except (msgspec.DecodeError, ValueError) as exc:
        raise DecodeError(f"not a work unit: {exc}") from exc
    unit = Chunk(b.request_id, b.index, tuple(b.points), b.start, b.end, b.window, b.group)
    return UnitOrder(unit, connector, b.run)


def encode_dispatch(dispatch: Dispatch, at: datetime) -> bytes:
    return msgspec.json.encode(
        DispatchJson(dispatch.request_id, dispatch.owner, _ranges(dispatch.runs), at)
    )


def decode_dispatch(payload: bytes) -> Dispatch:
    b = msgspec.json.decode(payload, type=DispatchJson)
    runs = {i: run for run, first, stop in b.runs for i in range(first, stop)}
    return Dispatch(b.request_id, b.owner, runs)


def _ranges(runs: dict[int, int]) -> list[tuple[int, int, int]]:
    """unit → run as runs of consecutive units sharing a run: a whole request is one triple."""
    out: list[tuple[int, int, int]] = []
    for index in sorted(runs):
        run = runs[index]
        if out and out[-1][0] == run and out[-1][2] == index:
            out[-1] = (run, out[-1][1], index + 1)
        else:
            out.append((run, index, index + 1))
    return out


def encode_outcome(request_id: str, outcome: Outcome, at: datetime) -> bytes:
    o = outcome
    body = OutcomeJson(request_id, o.unit_index, o.run, o.kind, o.fetcher, at, o.error,
                       o.values, o.seconds)  # fmt: skip
    return msgspec.json.encode(body)


def decode_outcome(payload: bytes) -> tuple[str, Outcome]:
    b = msgspec.json.decode(payload, type=OutcomeJson)
    return b.request_id, Outcome(b.index, b.run, b.kind, b.fetcher, b.error, b.values, b.seconds)

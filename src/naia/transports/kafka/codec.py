"""Message codecs: BackfillDataBatch (Arrow IPC stream, zstd) and live points (JSON).

Pure functions; the Kafka adapter moves bytes and headers, these turn them into batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from naia.domain.errors import DecodeError
from naia.domain.schema import BATCH_SCHEMA, SCHEMA_VERSION, TIMESTAMP_TYPE, unify

ARROW_CONTENT_TYPE = "application/vnd.apache.arrow.stream"
JSON_CONTENT_TYPE = "application/json"
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))


def encode_batch(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, BATCH_SCHEMA, options=_IPC_OPTIONS) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def decode_arrow(payload: bytes) -> pa.RecordBatch:
    try:
        table = pa.ipc.open_stream(payload).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DecodeError(f"not an Arrow IPC stream: {exc}") from exc
    if not table.schema.equals(BATCH_SCHEMA):
        raise DecodeError(f"unexpected schema: {table.schema.names}")
    return unify(table.to_batches()) if table.num_rows else table.schema.empty_table()


def batch_headers(
    batch: pa.RecordBatch, request_id: str, chunk_id: int, batch_seq: int
) -> list[tuple[str, str | bytes | None]]:
    ts = batch.column("ts")
    low, high = pc.min(ts).as_py(), pc.max(ts).as_py()
    return [
        ("naia-request-id", request_id.encode()),
        ("naia-chunk-id", str(chunk_id).encode()),
        ("naia-batch-seq", str(batch_seq).encode()),
        ("naia-value-count", str(batch.num_rows).encode()),
        ("naia-min-ts", low.isoformat().encode() if low else b""),
        ("naia-max-ts", high.isoformat().encode() if high else b""),
        ("naia-schema-version", str(SCHEMA_VERSION).encode()),
        ("content-type", ARROW_CONTENT_TYPE.encode()),
    ]


class LivePoint(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One live event on naia.datapoints (JSON). See docs/messages.md."""

    sourceAddress: str  # noqa: N815
    timestamp: datetime
    value: float | None = None
    state: str | None = None
    good: bool = True
    questionable: bool = False
    substituted: bool = False
    annotated: bool = False


_LIVE_DECODER = msgspec.json.Decoder(LivePoint | list[LivePoint])


def decode_live_json(payload: bytes) -> pa.RecordBatch:
    try:
        decoded = _LIVE_DECODER.decode(payload)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"invalid live point JSON: {exc}") from exc
    points = decoded if isinstance(decoded, list) else [decoded]
    for point in points:
        if point.timestamp.tzinfo is None:
            raise DecodeError(f"timestamp of {point.sourceAddress} has no time zone")
    return live_batch(points)


def live_batch(points: Sequence[LivePoint]) -> pa.RecordBatch:
    ordered = sorted(points, key=lambda p: (p.sourceAddress, p.timestamp))
    ts = pa.array([p.timestamp for p in ordered], type=TIMESTAMP_TYPE)
    names = pa.array([p.sourceAddress for p in ordered], type=pa.string())
    seq = _seq_by_key(names, ts)
    return pa.RecordBatch.from_arrays(
        [
            ts,
            names.dictionary_encode(),
            pa.array(seq, type=pa.int16()),
            pa.array([p.value for p in ordered], type=pa.float64()),
            pa.array([p.state for p in ordered], type=pa.string()),
            pa.array([p.good for p in ordered], type=pa.bool_()),
            pa.array([p.questionable for p in ordered], type=pa.bool_()),
            pa.array([p.substituted for p in ordered], type=pa.bool_()),
            pa.array([p.annotated for p in ordered], type=pa.bool_()),
        ],
        schema=BATCH_SCHEMA,
    )


def _seq_by_key(names: pa.Array, ts: pa.Array) -> npt.NDArray[np.int16]:
    keys = list(zip(names.to_pylist(), ts.to_pylist(), strict=True))
    seq = np.zeros(len(keys), dtype=np.int16)
    for i in range(1, len(keys)):
        if keys[i] == keys[i - 1]:
            seq[i] = seq[i - 1] + 1
    return seq


def decode_message(payload: bytes, content_type: str | None) -> pa.RecordBatch:
    """Arrow IPC by header (or by its magic bytes), else JSON."""
    if content_type == ARROW_CONTENT_TYPE or payload[:4] == b"\xff\xff\xff\xff":
        return decode_arrow(payload)
    return decode_live_json(payload)

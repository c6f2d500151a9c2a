"""Request records on the real Kafka (#16 item 3): an abandoned submit is deleted (a tombstone
after its record), so a process that loads the records never sees it, even when Kafka had
stored the record itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from naia.domain.model import BackfillSpec, ConnectorType, RequestRecord, RequestStatus
from naia.stores.kafka.state import KafkaStateStore
from naia.transports.kafka.topics import ensure_topics
from tests.helpers import wait_for
from tests.integration.distributed import Slice

pytestmark = pytest.mark.services

SPEC = BackfillSpec(
    ConnectorType.SIMULATOR, ("SINUSOID",), datetime(2026, 1, 9, tzinfo=UTC),
    datetime(2026, 1, 10, tzinfo=UTC), timedelta(hours=1),
)  # fmt: skip


def record(request_id: str) -> RequestRecord:
    return RequestRecord(
        request_id, SPEC, RequestStatus.QUEUED, datetime.now(UTC), idempotency_key=request_id
    )


def test_an_abandoned_record_never_loads_even_if_kafka_stored_it(tmp_path: Path) -> None:
    settings = Slice(tmp_path).kafka
    ensure_topics(settings)
    store = KafkaStateStore(settings)
    try:
        store.save_request(record("kept"))
        store.save_request(record("abandoned"))  # stored, as when only its ack was lost
        store.abandon_request("abandoned")
        wait_for(lambda: not store.pending_abandons(), 30, "the tombstone to be acknowledged")
    finally:
        store.close()
    fresh = KafkaStateStore(settings)  # a restarted API
    try:
        loaded = fresh.load_requests()
    finally:
        fresh.close()
    assert [(r.request_id, r.idempotency_key) for r in loaded] == [("kept", "kept")]

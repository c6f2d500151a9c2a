"""The real Kafka, QuestDB and Redis started by `naia services up` answer as the project needs.

Run with: naia services up && pytest tests/integration/test_services.py -m services
Ports come from NAIA_SERVICES__* environment variables, with the same defaults as
naia.services.settings.ServicesSettings.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.services

HOST = "127.0.0.1"
KAFKA_PORT = int(os.environ.get("NAIA_SERVICES__KAFKA_PORT", "19092"))
QUESTDB_HTTP_PORT = int(os.environ.get("NAIA_SERVICES__QUESTDB_HTTP_PORT", "19000"))
REDIS_PORT = int(os.environ.get("NAIA_SERVICES__REDIS_PORT", "16379"))
TIMEOUT_S = 30.0


def _require_port(name: str, port: int) -> None:
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return
    except OSError:
        pytest.fail(f"{name} is not listening on {HOST}:{port}; run `naia services up` first")


def test_kafka_transactional_produce_and_consume() -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    admin_module = pytest.importorskip("confluent_kafka.admin")
    _require_port("Kafka", KAFKA_PORT)
    bootstrap = f"{HOST}:{KAFKA_PORT}"
    topic = f"naia-services-test-{uuid.uuid4().hex[:12]}"

    admin = admin_module.AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([admin_module.NewTopic(topic, 1, 1)], operation_timeout=TIMEOUT_S)
    futures[topic].result(timeout=TIMEOUT_S)
    try:
        producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": bootstrap,
                "transactional.id": f"naia-services-test-{uuid.uuid4().hex[:12]}",
                "enable.idempotence": True,
            }
        )
        producer.init_transactions(TIMEOUT_S)
        producer.begin_transaction()
        producer.produce(topic, key=b"k", value=b"hello naia")
        producer.commit_transaction(TIMEOUT_S)

        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"naia-services-test-{uuid.uuid4().hex[:12]}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        try:
            consumer.subscribe([topic])
            message = _poll_one(consumer)
        finally:
            consumer.close()
        assert message.error() is None, message.error()
        assert message.key() == b"k"
        assert message.value() == b"hello naia"
    finally:
        admin.delete_topics([topic], operation_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S)


def _poll_one(consumer: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            return message
    pytest.fail(f"no committed message consumed within {TIMEOUT_S}s")


def test_questdb_select_one_over_http() -> None:
    _require_port("QuestDB", QUESTDB_HTTP_PORT)
    with httpx.Client(trust_env=False, timeout=TIMEOUT_S) as client:
        response = client.get(
            f"http://{HOST}:{QUESTDB_HTTP_PORT}/exec", params={"query": "select 1"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["dataset"] == [[1]]


def test_redis_set_get() -> None:
    redis = pytest.importorskip("redis")
    _require_port("Redis", REDIS_PORT)
    client = redis.Redis(host=HOST, port=REDIS_PORT, socket_timeout=TIMEOUT_S)
    key = f"naia:services-test:{uuid.uuid4().hex}"
    try:
        assert client.set(key, b"value", ex=60)
        assert client.get(key) == b"value"
    finally:
        client.delete(key)
        client.close()

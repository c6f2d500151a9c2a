"""Private slices of the real services (topics, table, Redis prefix, consumer group) per run."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from naia.services.settings import ServicesSettings

KAFKA = f"127.0.0.1:{os.environ.get('NAIA_SERVICES__KAFKA_PORT', '19092')}"
QDB_PORT = int(os.environ.get("NAIA_SERVICES__QUESTDB_HTTP_PORT", "19000"))
QDB_HTTP = f"http://127.0.0.1:{QDB_PORT}"
REDIS_PORT = int(os.environ.get("NAIA_SERVICES__REDIS_PORT", "16379"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qdb(sql: str, timeout: float = 60.0) -> dict[str, Any]:
    response = httpx.get(f"{QDB_HTTP}/exec", params={"query": sql}, timeout=timeout)
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"QuestDB: {body.get('error', body)} ({sql})")
    return body


def qdb_count(table: str) -> int:
    try:
        return int(qdb(f"SELECT count() FROM {table}", timeout=10)["dataset"][0][0])
    except RuntimeError as exc:
        if "does not exist" in str(exc):
            return 0
        raise


def create_table(table: str) -> None:
    """The same DDL as NAIA's sink (WAL, DEDUP UPSERT KEYS), for peers writing QuestDB."""
    from naia.sinks.questdb.client import DDL

    qdb(DDL.format(table=table))


def drop_table(table: str) -> None:
    with contextlib.suppress(RuntimeError, httpx.HTTPError):
        qdb(f"DROP TABLE IF EXISTS {table}")


@dataclass
class Slice:
    """Own topics, table, Redis prefix and consumer group: runs never see each other's data."""

    tag: str = field(default_factory=lambda: "b" + uuid.uuid4().hex[:8])

    @property
    def table(self) -> str:
        return f"bench_{self.tag}"

    def topic(self, name: str) -> str:
        return f"{self.tag}.{name}"

    @property
    def topics(self) -> list[str]:
        return [self.topic(n) for n in ("datapoints", "backfill", "dlq", "requests", "checkpoints")]

    def env(self, group: str | None = None) -> dict[str, str]:
        return {
            "NAIA_MODE": "distributed",
            "NAIA_LOG_LEVEL": "INFO",
            "NAIA_KAFKA__BOOTSTRAP_SERVERS": KAFKA,
            "NAIA_KAFKA__DATAPOINTS_TOPIC": self.topic("datapoints"),
            "NAIA_KAFKA__BACKFILL_TOPIC": self.topic("backfill"),
            "NAIA_KAFKA__DLQ_TOPIC": self.topic("dlq"),
            "NAIA_KAFKA__REQUESTS_TOPIC": self.topic("requests"),
            "NAIA_KAFKA__CHECKPOINTS_TOPIC": self.topic("checkpoints"),
            "NAIA_KAFKA__TRANSACTIONAL_ID": f"{self.tag}-orchestrator",
            "NAIA_KAFKA__CONSUMER_GROUP": group or f"{self.tag}-ingest",
            "NAIA_QUESTDB__HTTP_PORT": str(QDB_PORT),
            "NAIA_QUESTDB__TABLE": self.table,
            "NAIA_REDIS__PORT": str(REDIS_PORT),
            "NAIA_REDIS__KEY_PREFIX": f"{self.tag}:latest:",
        }

    def cleanup(self, extra_topics: list[str] | None = None) -> None:
        """Drop the table, delete the topics and the Redis keys of this slice."""
        drop_table(self.table)
        delete_topics([*self.topics, *(extra_topics or [])])
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
            keys = list(client.scan_iter(f"{self.tag}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def create_topic(name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": KAFKA})
    futures = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=60)


def delete_topics(names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": KAFKA})
    existing = set(admin.list_topics(timeout=20).topics)
    wanted = [n for n in names if n in existing]
    if not wanted:
        return
    for future in admin.delete_topics(wanted, operation_timeout=30).values():
        with contextlib.suppress(Exception):
            future.result(timeout=60)


def service_pids() -> dict[str, int]:
    """PIDs of the running Kafka and QuestDB (from the service manager's PID files)."""
    data = ServicesSettings().data_dir
    pids: dict[str, int] = {}
    for name in ("kafka", "questdb"):
        path = Path(data) / name / f"{name}.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(path.read_text().split()[0])
            if Path(f"/proc/{pid}").exists():
                pids[name] = pid
    return pids

"""Private Kafka, QuestDB and Redis that a test may kill, pause and restart.

The shared services must never be stopped, so the self-healing tests start their own with
``naia services up`` on ports 29100–29199 and data under a temporary folder, and stop them at
the end of the session. A ``PrivateSlice`` gives each test its own topics, group, table and
Redis prefix on them, and runs ``naia ingest`` / ``naia api`` against them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow as pa
import redis
from confluent_kafka import Producer

from naia.services import ServiceManager, ServicesSettings
from naia.services.process import port_in_use
from naia.sinks.questdb.client import execute
from naia.sinks.questdb.settings import QuestDbSettings
from naia.sinks.redis.settings import RedisSettings
from naia.transports.kafka.codec import ARROW_CONTENT_TYPE, encode_batch
from naia.transports.kafka.settings import KafkaSettings
from naia.transports.kafka.topics import ensure_topics
from tests.helpers import naia, wait_for

PORTS = {
    "kafka_port": 29192,
    "kafka_controller_port": 29193,
    "questdb_http_port": 29100,
    "questdb_pg_port": 29112,
    "questdb_ilp_tcp_port": 0,
    "redis_port": 29179,
}


class PrivateServices:
    def __init__(self, data_dir: Path) -> None:
        self.settings = ServicesSettings(
            data_dir=data_dir, kafka_heap="512m", questdb_heap="512m", **PORTS
        )
        self.manager = ServiceManager(self.settings)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    def up(self, *names: str) -> None:
        """Start these services (all by default). A Kafka refused right after a kill -9 is
        tried again by the ServiceManager itself."""
        self.manager.up(list(names) or None)

    def down(self) -> None:
        for name in ("kafka", "questdb", "redis"):
            self.resume(name)
        self.manager.down()

    def pid(self, name: str) -> int:
        pid = self.manager.services[name].running_pid()
        assert pid is not None, f"{name} is not running"
        return pid

    def kill(self, name: str) -> None:
        """kill -9; wait until the process is gone and its ports are free; remove its pid file."""
        service = self.manager.services[name]
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _alive(pid), 30, f"{name} gone")
        service.pid_path.unlink(missing_ok=True)
        for port in service.ports().values():  # a port can outlive its process for a moment
            try:
                wait_for(lambda p=port: not port_in_use(p), 30, f"{name}'s port {port} free")  # type: ignore[misc]
            except AssertionError as exc:
                raise AssertionError(f"{exc}; listening: {_holders(port)}") from exc

    def pause(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        pid = self.manager.services[name].running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)


def _holders(port: int) -> str:
    """What listens on ``port`` (for a failure message)."""
    found = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                           check=False)  # fmt: skip
    return found.stdout.strip() or "nothing listed by ss"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed child of ours) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class PrivateSlice:
    services: PrivateServices
    tmp: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def table(self) -> str:
        return f"pd_{self.tag}"

    @property
    def kafka(self) -> KafkaSettings:
        t = self.tag
        return KafkaSettings(
            bootstrap_servers=self.services.bootstrap, datapoints_topic=f"t{t}.datapoints",
            backfill_topic=f"t{t}.backfill", dlq_topic=f"t{t}.dlq",
            requests_topic=f"t{t}.requests", checkpoints_topic=f"t{t}.checkpoints",
            transactional_id=f"t{t}-orchestrator", consumer_group=f"t{t}-ingest",
            backfill_partitions=2, datapoints_partitions=2,
        )  # fmt: skip

    @property
    def questdb(self) -> QuestDbSettings:
        return QuestDbSettings(http_port=self.services.settings.questdb_http_port, table=self.table)

    @property
    def redis(self) -> RedisSettings:
        return RedisSettings(port=self.services.settings.redis_port, key_prefix=self.redis_prefix)

    @property
    def redis_prefix(self) -> str:
        return f"t{self.tag}:latest:"

    def env(self) -> dict[str, str]:
        k = self.kafka
        return {
            "NAIA_MODE": "distributed",
            "NAIA_KAFKA__BOOTSTRAP_SERVERS": k.bootstrap_servers,
            "NAIA_KAFKA__DATAPOINTS_TOPIC": k.datapoints_topic,
            "NAIA_KAFKA__BACKFILL_TOPIC": k.backfill_topic,
            "NAIA_KAFKA__DLQ_TOPIC": k.dlq_topic,
            "NAIA_KAFKA__REQUESTS_TOPIC": k.requests_topic,
            "NAIA_KAFKA__CHECKPOINTS_TOPIC": k.checkpoints_topic,
            "NAIA_KAFKA__TRANSACTIONAL_ID": k.transactional_id,
            "NAIA_KAFKA__CONSUMER_GROUP": k.consumer_group,
            "NAIA_KAFKA__BACKFILL_PARTITIONS": "2",
            "NAIA_KAFKA__DATAPOINTS_PARTITIONS": "2",
            "NAIA_QUESTDB__HTTP_PORT": str(self.services.settings.questdb_http_port),
            "NAIA_QUESTDB__TABLE": self.table,
            "NAIA_REDIS__PORT": str(self.services.settings.redis_port),
            "NAIA_REDIS__KEY_PREFIX": self.redis_prefix,
        }

    @property
    def worker_log(self) -> Path:
        return self.tmp / f"ingest-{self.tag}.log"

    def start_worker(self, metrics_port: int) -> subprocess.Popen[bytes]:
        return naia("ingest", "--metrics-port", str(metrics_port), env=self.env(),
                    log=self.worker_log)  # fmt: skip

    def start_api(self, port: int) -> subprocess.Popen[bytes]:
        return naia("api", "--port", str(port), env=self.env(), log=self.tmp / "api.log")

    def create_topics(self) -> None:
        ensure_topics(self.kafka)

    def publish(self, batches: list[pa.RecordBatch]) -> None:
        producer = Producer({"bootstrap.servers": self.services.bootstrap})
        for batch in batches:
            producer.produce(self.kafka.datapoints_topic, value=encode_batch(batch),
                             headers=[("content-type", ARROW_CONTENT_TYPE.encode())])  # fmt: skip
        assert producer.flush(30) == 0

    def count(self) -> int:
        try:
            return int(execute(self.questdb, f"SELECT count() FROM {self.table}")["dataset"][0][0])
        except Exception:  # table not there yet, or QuestDB restarting
            return -1

    def distinct(self) -> int:
        sql = f"SELECT count() FROM (SELECT DISTINCT ts, source_address, seq FROM {self.table})"
        return int(execute(self.questdb, sql)["dataset"][0][0])

    def latest(self, point: str) -> dict[str, str]:
        client = redis.Redis(port=self.services.settings.redis_port)
        try:
            raw = client.hgetall(self.redis_prefix + point)
        finally:
            client.close()
        return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]

    def log_lines(self, pattern: str) -> list[str]:
        text = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        return [line for line in text.splitlines() if re.search(pattern, line)]


def metric(port: int, name: str, **labels: str) -> float | None:
    """A sample of the worker's /metrics, or None when it does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return None


def private_services(base: Path) -> Iterator[PrivateServices]:
    services = PrivateServices(base)
    try:
        services.up()
        yield services
    finally:
        services.down()


def running(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None


def wait_metric(port: int, name: str, value: float, timeout: float, **labels: str) -> None:
    wait_for(lambda: metric(port, name, **labels) == value, timeout, f"{name}{labels} = {value}")

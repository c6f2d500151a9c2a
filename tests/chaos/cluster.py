"""The system under chaos: private Kafka, QuestDB, Redis (ports 32xxx) and NAIA's API + worker.

The harness plays two roles only: the operator who breaks things (kill -9, SIGSTOP/SIGCONT) and
the supervisor that restarts what it killed (systemd would: ``Restart=always``). It never
restarts anything else; a process found dead that was not killed is a failed trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from naia.services import ServiceManager, ServicesSettings
from naia.sinks.questdb.client import execute
from naia.sinks.questdb.settings import QuestDbSettings
from naia.transports.kafka.lag import KafkaLagProbe
from naia.transports.kafka.settings import KafkaSettings

PORT_SHIFT = int(os.environ.get("NAIA_CHAOS_PORT_SHIFT", "0"))
"""Moves every port below by this much (-3000: 29xxx), for a machine where 32xxx is taken."""
PORTS = {
    name: port + PORT_SHIFT
    for name, port in {
        "kafka": 32092,
        "kafka_controller": 32093,
        "questdb_http": 32000,
        "questdb_pg": 32812,
        "questdb_ilp_tcp": 32009,
        "redis": 32379,
        "api": 32052,
        "worker_metrics": 32053,
    }.items()
}
SERVICES = ("kafka", "questdb", "redis")
NAIA_PROCESSES = ("api", "worker")


def services_settings(data_dir: Path) -> ServicesSettings:
    return ServicesSettings(
        data_dir=data_dir,
        kafka_port=PORTS["kafka"],
        kafka_controller_port=PORTS["kafka_controller"],
        questdb_http_port=PORTS["questdb_http"],
        questdb_pg_port=PORTS["questdb_pg"],
        questdb_ilp_tcp_port=PORTS["questdb_ilp_tcp"],
        redis_port=PORTS["redis"],
        kafka_heap="512m",
        questdb_heap="768m",
    )


def naia_env(rate_limit: float) -> dict[str, str]:
    return {
        "NAIA_MODE": "distributed",
        "NAIA_LOG_LEVEL": "INFO",
        "NAIA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{PORTS['kafka']}",
        "NAIA_QUESTDB__HTTP_PORT": str(PORTS["questdb_http"]),
        "NAIA_REDIS__PORT": str(PORTS["redis"]),
        "NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": str(rate_limit),
    }


@dataclass
class NaiaProcess:
    """``python -m naia <args>``: one of the NAIA processes, and how many times it died."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        environ = {key: value for key, value in os.environ.items() if not key.startswith("NAIA_")}
        with self.log.open("ab") as out:
            out.write(f"\n===== chaos: starting {self.name} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "naia", *self.args], env={**environ, **self.env},
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def exit_code(self) -> int | None:
        """None while it runs, else its exit code (negative: the signal that ended it)."""
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def last_error(self) -> str:
        """The last ``error: …`` the CLI printed before exiting (wrapped lines joined)."""
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        starts = [i for i, line in enumerate(text) if line.startswith("error:")]
        if not starts:
            return "no error line"
        tail = text[starts[-1] :]
        ends = [i for i, line in enumerate(tail) if i and line.startswith(("=====", "%", "20"))]
        return " ".join(line.strip() for line in tail[: ends[0] if ends else 3])


@dataclass
class Cluster:
    work: Path
    rate_limit: float
    manager: ServiceManager = field(init=False)
    api: NaiaProcess = field(init=False)
    worker: NaiaProcess = field(init=False)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.manager = ServiceManager(services_settings(self.work / "services"))
        env = naia_env(self.rate_limit)
        self.api = NaiaProcess(
            "api", ("api", "--port", str(PORTS["api"])), env, self.work / "api.log"
        )
        self.worker = NaiaProcess(
            "worker",
            ("ingest", "--metrics-port", str(PORTS["worker_metrics"])),
            env,
            self.work / "worker.log",
        )
        self.kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{PORTS['kafka']}")
        self.questdb = QuestDbSettings(http_port=PORTS["questdb_http"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORTS['api']}"

    def process(self, name: str) -> NaiaProcess:
        return self.api if name == "api" else self.worker

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self) -> None:
        self.manager.up()
        self.worker.start()
        self.api.start()
        wait_until(self.api_serving, 120, "the API to answer /health")
        wait_until(self.worker_serving, 120, "the worker to answer /metrics")

    def down(self) -> None:
        for proc in (self.api, self.worker):
            proc.stop()
        for service in SERVICES:
            pid = self.manager.services[service].running_pid()
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
        self.manager.down()

    def service_pid(self, name: str) -> int | None:
        return self.manager.services[name].running_pid()

    def restart_service(self, name: str) -> None:
        """The supervisor's restart of a service this harness killed (a Kafka killed with -9
        that is refused before its old registration expires is tried again by the manager)."""
        self.manager.up([name])

    # -- probes --------------------------------------------------------------------------------

    def api_serving(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_serving(self) -> bool:
        try:
            url = f"http://127.0.0.1:{PORTS['worker_metrics']}/metrics"
            return httpx.get(url, timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def service_serving(self, name: str) -> bool:
        return self.manager.services[name].healthy()

    def request(self, request_id: str) -> dict[str, object] | None:
        try:
            response = httpx.get(f"{self.url}/api/backfill/request/{request_id}", timeout=10)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        data: dict[str, object] = response.json()["data"]
        return data

    def sql(self, query: str) -> list[list[object]]:
        rows: list[list[object]] = execute(self.questdb, query)["dataset"]
        return rows

    def backlog(self) -> int:
        """Messages the ingestion group has yet to commit, beyond one commit marker a partition."""
        probe = KafkaLagProbe(self.kafka)
        try:
            return sum(max(0, lag - 1) for lag in probe().values())
        finally:
            probe.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")

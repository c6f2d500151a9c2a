"""The ingest peer we want: QuestDB's Kafka connector in Kafka Connect standalone.

``resolve()`` runs Maven on ``services/connect/pom.xml`` (Connect runtime + JSON converter of the
broker's Kafka version + ``org.questdb:kafka-questdb-connector``). When Maven cannot resolve the
connector it returns the exact error, and the benchmark falls back to the next-strongest peer
(QuestDB's Python client, see ``peer_ilp_rows``). When it resolves, ``start()`` runs
``ConnectStandalone`` with the property templates under ``services/connect/``.
"""

from __future__ import annotations

import re
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import infra
from bench.procs import Proc, start
from naia.services.settings import ServiceVersions

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "services" / "connect"
CONNECTOR_VERSION = "0.23"  # newest release tag of questdb/kafka-questdb-connector


@dataclass(frozen=True)
class Resolution:
    ok: bool
    lib: Path
    kafka_version: str
    connector_version: str
    error: str = ""


def resolve(lib: Path) -> Resolution:
    kafka = ServiceVersions().kafka
    lib.mkdir(parents=True, exist_ok=True)
    argv = [
        "mvn",
        "-B",
        "-U",
        "-q",
        "-f",
        str(ASSETS / "pom.xml"),
        "dependency:copy-dependencies",
        f"-Dkafka.version={kafka}",
        f"-Dquestdb.connector.version={CONNECTOR_VERSION}",
        f"-DoutputDirectory={lib}",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Resolution(False, lib, kafka, CONNECTOR_VERSION, f"{' '.join(argv[:6])}: {exc}")
    if done.returncode == 0 and any(lib.glob("kafka-questdb-connector-*.jar")):
        return Resolution(True, lib, kafka, CONNECTOR_VERSION)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    errors = [line for line in output.splitlines() if line.startswith("[ERROR]") and len(line) > 12]
    text = errors[0] if errors else output[-1000:]
    return Resolution(False, lib, kafka, CONNECTOR_VERSION, _no_hosts(text.strip()))


def _no_hosts(text: str) -> str:
    """Maven names the repository by its URL; results and docs are committed, and no registry's
    host name goes into a commit: ``(https://…)`` becomes ``(Maven Central)``."""
    return re.sub(r"\(?https?://[^\s)]+\)?", "(Maven Central)", text)


def _fill(template: str, out: Path, **values: str) -> Path:
    text = string.Template((ASSETS / template).read_text()).substitute(values)
    out.write_text(text)
    return out


def start_connect(res: Resolution, work: Path, topic: str, table: str, tag: str) -> Proc:
    """Kafka Connect standalone with the QuestDB sink on ``topic`` → ``table``."""
    worker = _fill(
        "connect-standalone.properties.tmpl",
        work / "worker.properties",
        bootstrap=infra.KAFKA,
        work=str(work),
        lib=str(res.lib),
        rest_port=str(infra.free_port()),
    )
    sink = _fill(
        "questdb-sink.properties.tmpl",
        work / "sink.properties",
        topic=topic,
        table=table,
        tag=tag,
        questdb_http_port=str(infra.QDB_PORT),
    )
    argv = [
        "java",
        "-Xmx1g",
        "-cp",
        f"{res.lib}/*",
        "org.apache.kafka.connect.cli.ConnectStandalone",
        str(worker),
        str(sink),
    ]
    return start("kafka connect + questdb connector", argv, work / "connect.log")

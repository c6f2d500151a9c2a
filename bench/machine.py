"""The machine and the versions a benchmark ran on."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import httpx

from naia.services.settings import ServicesSettings, ServiceVersions

QDB_HTTP = f"http://127.0.0.1:{os.environ.get('NAIA_SERVICES__QUESTDB_HTTP_PORT', '19000')}"


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ram_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_gib": ram_gib(),
        "kernel": platform.release(),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _dist(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def questdb_server() -> str:
    try:
        body = httpx.get(f"{QDB_HTTP}/exec", params={"query": "select build()"}, timeout=5).json()
        text = str(body["dataset"][0][0])
    except (httpx.HTTPError, KeyError, IndexError, ValueError):
        return ServiceVersions().questdb + " (not reachable)"
    # "Build Information: QuestDB 9.3.4, JDK 24.0.2, Commit Hash ..."
    parts = [p.strip() for p in text.replace("Build Information:", "").split(",")]
    return ", ".join(p for p in parts if not p.startswith("Commit"))


def kafka_server() -> str:
    version = ServiceVersions().kafka
    lib = ServicesSettings().data_dir / "kafka" / "lib" / version
    return version if lib.is_dir() else f"{version} (jars not found in {lib})"


def peer_version(python: Path, dist: str) -> str:
    if not python.exists():
        return "not installed"
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    try:
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return "not installed"
    return out.stdout.strip()


def versions(peers_python: Path) -> dict[str, str]:
    import confluent_kafka

    librdkafka = confluent_kafka.libversion()[0]
    return {
        "python": platform.python_version(),
        "naia": _dist("naia"),
        "duckdb": _dist("duckdb"),
        "pyarrow": _dist("pyarrow"),
        "numpy": _dist("numpy"),
        "msgspec": _dist("msgspec"),
        "confluent-kafka": f"{_dist('confluent-kafka')} (librdkafka {librdkafka})",
        "questdb (client)": _dist("questdb"),
        "Kafka (broker)": kafka_server(),
        "QuestDB (server)": questdb_server(),
        "osisoft-pidevclub-piwebapi (peer)": peer_version(
            peers_python, "osisoft.pidevclub.piwebapi"
        ),
        "py-spy": peer_version(peers_python, "py-spy"),
    }

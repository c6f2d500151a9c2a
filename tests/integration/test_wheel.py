"""NAIA installed as users install Python tools: the built wheel in a fresh virtualenv.

The wheel is built from this checkout, installed into a new venv under a temporary folder,
and run from a working directory outside the checkout: the seed's Test 1 embedded
(``naia backfill --db``) and distributed (``naia services up`` on private ports 31xxx,
``naia api`` + ``naia ingest``, the count in QuestDB, ``naia services down``). Whatever the
package reads at run time (SQL schema, Lua script, Maven poms, dashboard files) must be in the
wheel for this to pass. Needs the package index (or pip's cache) for the dependencies, Java and
Maven (or their local repository) for the services.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.helpers import db_count, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SEED = ("SINUSOID", "CDT158", "SINUSOIDU")
SEED_VALUES = 4320
SEED_WHERE = "WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"
START, END = "2026-01-09T00:00:00Z", "2026-01-10T00:00:00Z"
INSTALL_TIMEOUT_S = 600

# Private ports (31xxx) so the shared services on 19xxx are never touched.
PORTS = {
    "kafka": 31092,
    "kafka_controller": 31093,
    "questdb_http": 31000,
    "questdb_pg": 31812,
    "questdb_ilp_tcp": 31009,
    "redis": 31379,
    "api": 31052,
}
RUNTIME_FILES = (
    "naia/stores/duckdb/schema.sql",
    "naia/sinks/redis/latest.lua",
    "naia/services/assets/kafka/pom.xml",
    "naia/services/assets/questdb/pom.xml",
    "naia/api/static/index.html",
    "naia/py.typed",
)


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a fresh venv, and a working directory outside the checkout."""

    wheel: Path
    bin: Path
    cwd: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The caller's environment minus anything pointing at this checkout or its venv."""
        keep = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("NAIA_", "PYTHON", "VIRTUAL_ENV"))
        }
        parts = keep.get("PATH", "").split(os.pathsep)
        path = os.pathsep.join(part for part in parts if not part.startswith(str(ROOT)))
        return {**keep, "PATH": f"{self.bin}{os.pathsep}{path}", **extra}

    def run(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin / "naia"), *args], cwd=self.cwd, env=self.env(**env), text=True,
            capture_output=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"naia {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, *args: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [str(self.bin / "naia"), *args], cwd=self.cwd, env=self.env(**env),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip


def _pip(python: Path | str, *args: str, cwd: Path) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args], cwd=cwd, text=True,
        capture_output=True, timeout=INSTALL_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT), "the venv must live outside the checkout"
    dist = base / "dist"
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(dist), str(ROOT), cwd=base)
    (wheel,) = dist.glob("naia-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    _pip(venv / "bin" / "python", "install", f"{wheel}[distributed]", cwd=base)
    cwd = base / "elsewhere"
    cwd.mkdir()
    return Installed(wheel=wheel, bin=venv / "bin", cwd=cwd)


def test_the_wheel_holds_every_file_the_package_reads(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in RUNTIME_FILES if name not in names]
    assert not missing, f"not in {installed.wheel.name}: {missing}"
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import naia; print(naia.__file__)"],
        cwd=installed.cwd, env=installed.env(), text=True, capture_output=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(installed.bin.parent), where


def test_seed_test1_embedded_from_the_installed_wheel(installed: Installed) -> None:
    db = installed.cwd / "test1.duckdb"
    installed.run(
        "backfill", "--connector", "Simulator", "--points", ",".join(SEED),
        "--start", START, "--end", END, "--chunk", "01:00:00", "--db", str(db),
    )  # fmt: skip
    assert db_count(db, f"SELECT COUNT(*) FROM point_data {SEED_WHERE}") == SEED_VALUES
    shown = installed.run("sql", "--db", str(db), f"SELECT COUNT(*) FROM point_data {SEED_WHERE}")
    assert "4,320" in shown.stdout


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def services(installed: Installed, tmp_path: Path) -> Iterator[Path]:
    taken = [f"{name}={port}" for name, port in PORTS.items() if not _port_free(port)]
    if taken:
        pytest.fail(f"private test ports already taken: {taken}")
    data_dir = tmp_path / "services"
    flags = (
        "--data-dir", str(data_dir),
        "--kafka-port", str(PORTS["kafka"]),
        "--kafka-controller-port", str(PORTS["kafka_controller"]),
        "--questdb-http-port", str(PORTS["questdb_http"]),
        "--questdb-pg-port", str(PORTS["questdb_pg"]),
        "--questdb-ilp-tcp-port", str(PORTS["questdb_ilp_tcp"]),
        "--redis-port", str(PORTS["redis"]),
    )  # fmt: skip
    try:
        installed.run("services", "up", *flags, timeout=INSTALL_TIMEOUT_S)
        yield data_dir
    finally:
        installed.run("services", "down", "--data-dir", str(data_dir))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _questdb_count() -> int:
    response = httpx.get(
        f"http://127.0.0.1:{PORTS['questdb_http']}/exec",
        params={"query": f"SELECT count() FROM point_data {SEED_WHERE}"},
        timeout=10,
    )
    if response.status_code != 200:  # the table appears with the first rows
        return -1
    return int(response.json()["dataset"][0][0])


def _status(url: str, request_id: str) -> str:
    response = httpx.get(f"{url}/api/backfill/request/{request_id}", timeout=10)
    status: str = response.json()["data"]["status"]
    return status


def test_seed_test1_distributed_from_the_installed_wheel(
    installed: Installed, services: Path
) -> None:
    env = {
        "NAIA_MODE": "distributed",
        "NAIA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{PORTS['kafka']}",
        "NAIA_QUESTDB__HTTP_PORT": str(PORTS["questdb_http"]),
        "NAIA_REDIS__PORT": str(PORTS["redis"]),
    }
    url = f"http://127.0.0.1:{PORTS['api']}"
    logs = services.parent
    worker = installed.start("ingest", log=logs / "ingest.log", **env)
    api = installed.start("api", "--port", str(PORTS["api"]), log=logs / "api.log", **env)
    try:
        wait_for(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, 90, "the API")
        body = {
            "connectorType": "Simulator", "pointAddresses": list(SEED),
            "startTime": START, "endTime": END, "chunkSize": "01:00:00",
        }  # fmt: skip
        response = httpx.post(f"{url}/api/backfill/start", json=body, timeout=30)
        assert response.status_code == 200, response.text
        request_id = response.json()["data"]["requestId"]
        wait_for(lambda: _status(url, request_id) == "Completed", 90, "Completed")
        wait_for(lambda: _questdb_count() >= SEED_VALUES, 90, f"{SEED_VALUES} rows in QuestDB")
        assert _questdb_count() == SEED_VALUES
        client = redis.Redis(port=PORTS["redis"])
        try:
            for point in SEED:
                wait_for(lambda p=point: bool(client.exists(f"naia:latest:{p}")), 30, "Redis")  # type: ignore[misc]
        finally:
            client.close()
        assert worker.poll() is None, (logs / "ingest.log").read_text()
    finally:
        _stop(api)
        _stop(worker)

"""`naia services up` right after a kill -9 of Kafka, on a PRIVATE Kafka (ports 33092/33093).

A Kafka started at once after a kill -9 may be refused for a while ("Another broker is registered
with that broker id" until its old registration expires), and a start judged failed must not
leave its JVM behind: the ServiceManager tries again itself, with backoff, up to a bound.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from naia.services import ServiceManager, ServicesSettings, ServicesUpError
from naia.services.process import port_in_use

pytestmark = [pytest.mark.slow]

TRIALS = 3
PORTS = {
    "kafka_port": 33092,
    "kafka_controller_port": 33093,
    "questdb_http_port": 33000,
    "questdb_pg_port": 33012,
    "questdb_ilp_tcp_port": 0,
    "redis_port": 33079,
}


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[ServiceManager]:
    if port_in_use(PORTS["kafka_port"]) or port_in_use(PORTS["kafka_controller_port"]):
        pytest.skip("ports 33092/33093 are taken")
    settings = ServicesSettings(data_dir=tmp_path / "services", kafka_heap="512m", **PORTS)
    manager = ServiceManager(settings, emit=print)
    try:
        yield manager
    finally:
        manager.down(["kafka"])
        kill_under(settings.data_dir)


def running_under(folder: Path) -> list[int]:
    """Live processes (not zombies) whose command line names ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(folder).encode() in cmdline and state(int(entry.name)) not in (None, "Z"):
                found.append(int(entry.name))
    return found


def kill_under(folder: Path) -> None:
    """SIGKILL whatever still runs from ``folder`` (a JVM a failed start left behind)."""
    for pid in running_under(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_9(pid: int) -> None:
    """SIGKILL, and return as soon as a supervisor would see the process dead: its main thread
    a zombie (not reaped: the JVM's other threads may still hold its ports for a moment)."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.005)


def state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def test_kafka_killed_9_and_started_at_once_comes_up(manager: ServiceManager) -> None:
    kafka = manager.services["kafka"]
    manager.up(["kafka"])
    for trial in range(TRIALS):
        pid = kafka.running_pid()
        assert pid is not None
        kill_9(pid)
        began = time.monotonic()
        status = manager.up(["kafka"])[0]
        took = time.monotonic() - began
        print(f"trial {trial + 1}: up again after {took:.1f} s ({status.note})")
        assert status.healthy and kafka.healthy(), status
        assert kafka.running_pid() not in (None, pid)
        leftovers = [
            p for p in running_under(manager.settings.data_dir) if p != kafka.running_pid()
        ]
        assert leftovers == []  # no JVM of a failed start left behind


def test_a_port_held_for_a_moment_is_waited_for_then_the_service_starts(tmp_path: Path) -> None:
    """Right after a crash the kernel may still hold a service's port (CI once saw Redis's port
    accept a connection after its kill -9): `up` tries again with backoff instead of failing."""
    port = PORTS["redis_port"]
    if port_in_use(port):
        pytest.skip(f"port {port} is taken")
    settings = ServicesSettings(
        data_dir=tmp_path / "services", start_retry_base_s=0.5, start_retry_max_s=1.0, **PORTS
    )
    manager = ServiceManager(settings, emit=print)
    holder = socket.create_server(("127.0.0.1", port))  # a process naia did not start
    release = threading.Timer(1.5, holder.close)
    release.start()
    try:
        status = manager.up(["redis"])[0]
        assert status.healthy and "attempt" in status.note, status
        assert manager.services["redis"].running_pid() is not None
    finally:
        release.cancel()
        holder.close()
        manager.down(["redis"])
        kill_under(settings.data_dir)


def test_a_port_held_for_good_fails_with_the_reason_after_the_attempts(tmp_path: Path) -> None:
    port = PORTS["redis_port"]
    if port_in_use(port):
        pytest.skip(f"port {port} is taken")
    settings = ServicesSettings(
        data_dir=tmp_path / "services",
        start_attempts=3,
        start_retry_base_s=0.1,
        start_retry_max_s=0.2,
        **PORTS,
    )
    lines: list[str] = []
    manager = ServiceManager(settings, emit=lines.append)
    with socket.create_server(("127.0.0.1", port)), pytest.raises(ServicesUpError) as info:
        manager.up(["redis"])
    assert f"port {port} (redis) on 127.0.0.1 is already taken" in str(info.value.failures)
    assert sum("trying again" in line for line in lines) == 2  # 3 attempts in all
    assert manager.services["redis"].running_pid() is None

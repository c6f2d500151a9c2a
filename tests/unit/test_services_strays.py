"""What a failed start leaves behind: found by the service's markers (its data folder), killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from naia.services import ServicesSettings
from naia.services.kafka import KAFKA_MAIN, Kafka
from naia.services.process import (
    SelfConnectedError,
    child_running,
    connect_loopback,
    kill_processes,
    port_in_use,
)
from naia.services.redis import Redis


@pytest.fixture
def settings(tmp_path: Path) -> ServicesSettings:
    return ServicesSettings(data_dir=tmp_path / "services")


@pytest.fixture
def stray(settings: ServicesSettings) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line looks like this data folder's Kafka."""
    kafka = Kafka(settings)
    code = "import time; time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", code, KAFKA_MAIN, str(kafka.properties_path)])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def test_a_kafka_the_pid_file_does_not_name_is_a_stray(
    settings: ServicesSettings, stray: subprocess.Popen[bytes]
) -> None:
    kafka = Kafka(settings)
    assert kafka.strays() == [stray.pid]
    kafka.pid_path.parent.mkdir(parents=True, exist_ok=True)
    kafka.pid_path.write_text(f"{stray.pid}\n")
    assert kafka.strays() == []  # the PID file names it: it is the running Kafka


def test_another_data_folders_kafka_is_no_stray(
    tmp_path: Path, stray: subprocess.Popen[bytes]
) -> None:
    assert Kafka(ServicesSettings(data_dir=tmp_path / "other")).strays() == []


def test_services_whose_markers_do_not_name_the_folder_report_no_strays(
    settings: ServicesSettings,
) -> None:
    assert not any(str(settings.data_dir) in m for m in Redis(settings).markers())
    assert Redis(settings).strays() == []  # "redis-server" alone could be anyone's Redis


def test_strays_are_killed_and_reaped(
    settings: ServicesSettings, stray: subprocess.Popen[bytes]
) -> None:
    kill_processes(Kafka(settings).strays())
    assert child_running(stray.pid) is None  # reaped: no longer our child
    assert Kafka(settings).strays() == []


def test_child_running_tells_a_live_child_from_an_exited_one() -> None:
    pid = os.posix_spawn("/bin/sleep", ["/bin/sleep", "60"], dict(os.environ))
    assert child_running(pid) is True
    os.kill(pid, signal.SIGKILL)
    while child_running(pid):
        pass
    assert child_running(pid) is None  # reaped: no longer our child
    assert child_running(1) is None  # never ours


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_connection_to_itself_is_refused_and_frees_the_port() -> None:
    """Nothing listens on the port; a client bound to that same port connects to itself (what
    the kernel may do by chance for a port in the ephemeral range): refused, and the port is
    free for the service to bind at once."""
    port = free_loopback_port()
    with pytest.raises(SelfConnectedError):
        connect_loopback(port, 2.0, source_port=port)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))  # no TIME_WAIT or live self-connection holds it
        server.listen()
        assert port_in_use(port)
        with connect_loopback(port, 2.0) as client:
            assert client.getpeername()[1] == port


def test_a_port_nobody_listens_on_is_free() -> None:
    assert not port_in_use(free_loopback_port())

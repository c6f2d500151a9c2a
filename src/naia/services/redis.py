"""Redis from Debian's ``redis-server`` package, run as a plain foreground process."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from naia.services.base import Service
from naia.services.process import (
    LOOPBACK,
    LaunchSpec,
    ServiceError,
    connect_loopback,
    ensure_command,
)

APT_PACKAGE = "redis-server"
_VERSION = re.compile(r"v=(\d+(?:\.\d+)*)")
_PING = b"*1\r\n$4\r\nPING\r\n"


def parse_version(text: str) -> tuple[int, ...]:
    """``(7, 0, 15)`` from ``redis-server --version`` output."""
    match = _VERSION.search(text)
    if match is None:
        raise ValueError(f"no version in {text!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def server_args(port: int, data_dir: Path) -> tuple[str, ...]:
    """Command-line configuration: loopback only, no persistence, log to stdout."""
    return (
        "--port", str(port),
        "--bind", LOOPBACK,
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--supervised", "no",
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "no",
        "--logfile", "",
    )  # fmt: skip


def probe(port: int, timeout_s: float = 2.0) -> bool:
    """True if Redis on ``port`` answers PING with PONG."""
    try:
        with connect_loopback(port, timeout_s) as sock:
            sock.sendall(_PING)
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Redis(Service):
    """``<data_dir>/redis/{data/, logs/, redis.pid}``."""

    name = "redis"

    @property
    def version(self) -> str:
        found = self.installed_version()
        return "not installed" if found is None else ".".join(map(str, found))

    @property
    def storage_dir(self) -> Path:
        return self.home / "data"

    def installed_version(self) -> tuple[int, ...] | None:
        binary = shutil.which("redis-server")
        if binary is None:
            return None
        try:
            result = subprocess.run(
                [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
            )
            return parse_version(result.stdout)
        except (OSError, ValueError, subprocess.SubprocessError):
            return None

    def ports(self) -> dict[str, int]:
        return {"redis": self.settings.redis_port}

    def markers(self) -> tuple[str, ...]:
        # Redis rewrites its process title to "redis-server 127.0.0.1:<port>".
        return ("redis-server",)

    def install(self) -> None:
        ensure_command("redis-server", APT_PACKAGE, self.install_log)
        wanted = self.settings.versions.redis_min
        found = self.installed_version()
        if found is None or found < parse_version(f"v={wanted}"):
            raise ServiceError(f"redis-server {self.version} found, need {wanted} or newer")

    def prepare(self) -> None:
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)

    def launch_spec(self) -> LaunchSpec:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("redis-server is not installed (`naia services up` installs it)")
        argv = (binary, *server_args(self.settings.redis_port, self.storage_dir))
        return LaunchSpec(argv=argv, log_path=self.stdout_log)

    def healthy(self) -> bool:
        return probe(self.settings.redis_port)

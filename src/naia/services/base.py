"""What every managed service provides, and the directory layout they share."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import ClassVar

from naia.services.process import (
    LaunchSpec,
    ServiceError,
    ensure_command,
    find_processes,
    is_running,
    read_pid,
    run_logged,
)
from naia.services.settings import ServicesSettings

MAVEN_TIMEOUT_S = 900.0
_INSTALLED_MARKER = ".naia-installed"


class Service(ABC):
    """One service under ``<data_dir>/<name>/``: ``<name>.pid``, ``logs/``, its data and jars."""

    name: ClassVar[str]
    may_be_refused: ClassVar[bool] = False
    """A start that fails may succeed when tried again a little later (``start_attempts``)."""

    def __init__(self, settings: ServicesSettings) -> None:
        self.settings = settings
        self.home = settings.data_dir / self.name

    @property
    def pid_path(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def stdout_log(self) -> Path:
        """stdout and stderr of the service process."""
        return self.logs_dir / "stdout.log"

    @property
    def install_log(self) -> Path:
        return self.logs_dir / "install.log"

    def log_files(self) -> list[Path]:
        """The logs worth showing when the service fails to start."""
        return [self.stdout_log]

    def strays(self) -> list[int]:
        """Processes of this service (its markers, so this data folder) that the PID file does
        not point to: what a start that failed or was given up on left behind. Empty for a
        service whose markers do not name its data folder (they could match another's)."""
        markers = self.markers()
        if not any(str(self.settings.data_dir) in marker for marker in markers):
            return []
        return find_processes(markers, exclude=[p for p in [read_pid(self.pid_path)] if p])

    def running_pid(self) -> int | None:
        """The PID from the PID file if that process is alive and is this service."""
        pid = read_pid(self.pid_path)
        return pid if pid is not None and is_running(pid, self.markers()) else None

    @property
    @abstractmethod
    def version(self) -> str:
        """The version that is (or will be) installed."""

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """The loopback ports the service listens on, by role."""

    @abstractmethod
    def markers(self) -> tuple[str, ...]:
        """Substrings of the process command line that identify this service's process."""

    @abstractmethod
    def install(self) -> None:
        """Fetch whatever is missing (jars, packages); a no-op when already installed."""

    @abstractmethod
    def prepare(self) -> None:
        """Write the configuration and initialise storage before a start."""

    @abstractmethod
    def launch_spec(self) -> LaunchSpec:
        """The command that runs the service in the foreground."""

    @abstractmethod
    def healthy(self) -> bool:
        """True if the service answers a real request right now."""

    @contextlib.contextmanager
    def maven_pom(self) -> Iterator[Path]:
        """This service's Maven pom as a file: from ``settings.assets_dir`` if set, else the
        one shipped in the package (``naia/services/assets/<name>/pom.xml``)."""
        if self.settings.assets_dir is not None:
            yield self.settings.assets_dir / self.name / "pom.xml"
            return
        packaged = resources.files("naia.services") / "assets" / self.name / "pom.xml"
        with resources.as_file(packaged) as pom:
            yield pom


def maven_copy(
    pom: Path, output_dir: Path, properties: dict[str, str], log_path: Path, what: str
) -> None:
    """Resolve ``pom``'s runtime dependencies into ``output_dir`` with Maven (once)."""
    if (output_dir / _INSTALLED_MARKER).is_file():
        return
    if not pom.is_file():
        raise ServiceError(f"{what}: Maven pom not found at {pom} (services.assets_dir)")
    mvn = ensure_command("mvn", "maven", log_path)
    output_dir.mkdir(parents=True, exist_ok=True)
    argv = [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies"]
    argv += [f"-D{key}={value}" for key, value in sorted(properties.items())]
    argv.append(f"-DoutputDirectory={output_dir}")
    run_logged(argv, log_path, MAVEN_TIMEOUT_S, what=f"{what}: mvn dependency:copy-dependencies")
    if not any(output_dir.glob("*.jar")):
        raise ServiceError(f"{what}: Maven resolved no jars into {output_dir}")
    (output_dir / _INSTALLED_MARKER).write_text("ok\n", encoding="ascii")

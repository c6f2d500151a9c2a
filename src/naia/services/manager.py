"""Bring the local Kafka, QuestDB and Redis up, down, and report their status.

Usage::

    manager = ServiceManager(ServicesSettings())
    manager.up()       # idempotent: installs what is missing, starts, waits until ready
    manager.status()
    manager.down()     # idempotent: SIGTERM, then SIGKILL after settings.stop_timeout_s
"""

from __future__ import annotations

import contextlib
import fcntl
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from naia.kernel.backoff import Backoff
from naia.services.base import Service
from naia.services.kafka import Kafka
from naia.services.process import (
    LOOPBACK,
    PortTakenError,
    ServiceError,
    child_running,
    describe_logs,
    is_running,
    kill_processes,
    log_offsets,
    port_in_use,
    read_pid,
    spawn_detached,
    stop_process,
    write_pid,
)
from naia.services.questdb import QuestDB
from naia.services.redis import Redis
from naia.services.settings import ServicesSettings

SERVICE_TYPES: tuple[type[Service], ...] = (Kafka, QuestDB, Redis)
SERVICE_NAMES: tuple[str, ...] = tuple(kind.name for kind in SERVICE_TYPES)
_POLL_S = 0.25

Emit = Callable[[str], None]


@dataclass(frozen=True)
class _Starting:
    """A service process launched (or found starting) that has not answered yet."""

    service: Service
    pid: int
    started: float
    log_offsets: Mapping[Path, int]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    version: str
    pid: int | None
    ports: Mapping[str, int] = field(default_factory=dict)
    healthy: bool = False
    note: str = ""


class ServicesUpError(ServiceError):
    """One or more services failed to come up; ``failures`` maps name to a readable reason."""

    def __init__(self, failures: Mapping[str, str], statuses: Sequence[ServiceStatus]) -> None:
        self.failures = dict(failures)
        self.statuses = list(statuses)
        details = "\n\n".join(f"[{name}] {reason}" for name, reason in self.failures.items())
        super().__init__(f"failed to start: {', '.join(self.failures)}\n\n{details}")


def _ignore(_message: str) -> None:
    return None


class ServiceManager:
    """Starts, stops and probes the services described by ``settings``."""

    def __init__(self, settings: ServicesSettings | None = None, emit: Emit | None = None) -> None:
        self.settings = settings if settings is not None else ServicesSettings()
        self.services: dict[str, Service] = {
            kind.name: kind(self.settings) for kind in SERVICE_TYPES
        }
        self._emit = emit if emit is not None else _ignore

    def select(self, names: Sequence[str] | None = None) -> list[Service]:
        """The services called ``names`` (all of them if None or empty), in start order."""
        if not names:
            return list(self.services.values())
        unknown = sorted(set(names) - set(self.services))
        if unknown:
            raise ValueError(f"unknown service(s) {unknown}; known: {list(SERVICE_NAMES)}")
        return [service for name, service in self.services.items() if name in names]

    def up(self, names: Sequence[str] | None = None) -> list[ServiceStatus]:
        """Start the selected services (those not already running) and wait until all answer.

        Raises :class:`ServicesUpError` (after trying every service) if any failed.
        """
        selected = self.select(names)
        notes: dict[str, str] = {}
        failures: dict[str, str] = {}
        pending: dict[str, _Starting] = {}
        taken: set[str] = set()  # a port held: maybe by a process just killed
        with self._locked():
            for service in selected:
                try:
                    starting, note = self._launch(service)
                except ServiceError as exc:
                    failures[service.name] = str(exc)
                    if isinstance(exc, PortTakenError):
                        taken.add(service.name)
                    continue
                notes[service.name] = note
                if starting is not None:
                    pending[service.name] = starting
            failures.update(self._await_ready(pending))
            for name in [n for n in failures if n in taken or self.services[n].may_be_refused]:
                self._start_again(self.services[name], failures, notes)
        statuses = [
            self._status(service, "failed" if service.name in failures else notes[service.name])
            for service in selected
        ]
        if failures:
            raise ServicesUpError(failures, statuses)
        return statuses

    def down(self, names: Sequence[str] | None = None) -> list[ServiceStatus]:
        """Stop the selected services; a service that is not running is left alone."""
        statuses = []
        with self._locked():
            for service in reversed(self.select(names)):
                statuses.append(self._stop(service))
        return list(reversed(statuses))

    def status(self, names: Sequence[str] | None = None) -> list[ServiceStatus]:
        """Each selected service: PID if running, ports, and whether it answers."""
        return [self._status(service) for service in self.select(names)]

    # -- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise concurrent ``up``/``down`` calls on the same data directory."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.settings.data_dir / ".services.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _start_again(
        self, service: Service, failures: dict[str, str], notes: dict[str, str]
    ) -> None:
        """Try a refused start again (``start_attempts`` in all, with backoff), after killing
        what the failed one left behind; when giving up, kill that too."""
        s = self.settings
        backoff, rng = Backoff(s.start_retry_base_s, s.start_retry_max_s), random.Random()
        name = service.name
        for attempt in range(2, s.start_attempts + 1):
            self._kill_strays(service)
            wait = backoff.delay(attempt - 1, rng)
            first = failures[name].splitlines()[0]
            self._emit(f"{name}: start failed ({first}); trying again in {wait:.1f}s "
                       f"(attempt {attempt} of {s.start_attempts})")  # fmt: skip
            time.sleep(wait)
            try:
                starting, note = self._launch(service)
            except ServiceError as exc:
                failures[name] = str(exc)
                continue
            del failures[name]
            notes[name] = f"{note} (attempt {attempt})"
            if starting is not None:
                failures.update(self._await_ready({name: starting}))
            if name not in failures:
                return
        self._kill_strays(service)

    def _kill_strays(self, service: Service) -> None:
        strays = service.strays()
        if strays:
            self._emit(f"{service.name}: killing what a failed start left behind (pids {strays})")
            kill_processes(strays)

    def _launch(self, service: Service) -> tuple[_Starting | None, str]:
        """Start ``service`` unless it runs; None if it already answers."""
        offsets = log_offsets(service.log_files())
        pid = service.running_pid()
        if pid is not None:
            if service.healthy():
                self._emit(f"{service.name}: already running (pid {pid})")
                return None, "already running"
            self._emit(f"{service.name}: running (pid {pid}) but not answering yet; waiting")
            return _Starting(service, pid, time.monotonic(), offsets), "was starting"
        service.pid_path.unlink(missing_ok=True)
        self._check_ports_free(service)
        self._emit(f"{service.name} {service.version}: checking the installation")
        service.install()
        service.prepare()
        spec = service.launch_spec()
        offsets = log_offsets(service.log_files())
        _log_banner(spec.log_path, service)
        pid = spawn_detached(spec)
        write_pid(service.pid_path, pid)
        self._emit(f"{service.name}: started (pid {pid}), waiting until it answers")
        return _Starting(service, pid, time.monotonic(), offsets), "started"

    def _check_ports_free(self, service: Service) -> None:
        for role, port in service.ports().items():
            if port_in_use(port):
                raise PortTakenError(
                    f"{service.name}: port {port} ({role}) on {LOOPBACK} is already taken by a "
                    f"process that naia did not start from {self.settings.data_dir} (no live "
                    f"{service.pid_path}); stop that process or choose another port"
                )

    def _await_ready(self, pending: Mapping[str, _Starting]) -> dict[str, str]:
        failures: dict[str, str] = {}
        waiting = dict(pending)
        deadline = time.monotonic() + self.settings.start_timeout_s
        while waiting:
            for name, item in list(waiting.items()):
                if item.service.healthy():
                    del waiting[name]
                    self._emit(f"{name}: ready after {time.monotonic() - item.started:.1f}s")
                elif not _alive(item):
                    del waiting[name]
                    item.service.pid_path.unlink(missing_ok=True)
                    failures[name] = f"{name} exited during startup (pid {item.pid})\n{_logs(item)}"
            if waiting and time.monotonic() >= deadline:
                failures.update(self._give_up(waiting))
                break
            if waiting:
                time.sleep(_POLL_S)
        return failures

    def _give_up(self, waiting: Mapping[str, _Starting]) -> dict[str, str]:
        failures = {}
        timeout = self.settings.start_timeout_s
        for name, item in waiting.items():
            logs = _logs(item)
            stop_process(item.pid, item.service.markers(), self.settings.stop_timeout_s)
            item.service.pid_path.unlink(missing_ok=True)
            failures[name] = f"{name} did not answer within {timeout:.0f}s; stopped it\n{logs}"
        return failures

    def _stop(self, service: Service) -> ServiceStatus:
        pid = read_pid(service.pid_path)
        outcome = "not running"
        if pid is not None:
            self._emit(f"{service.name}: stopping pid {pid}")
            outcome = stop_process(pid, service.markers(), self.settings.stop_timeout_s)
        service.pid_path.unlink(missing_ok=True)
        self._emit(f"{service.name}: {outcome}")
        return ServiceStatus(service.name, service.version, None, service.ports(), False, outcome)

    def _status(self, service: Service, note: str | None = None) -> ServiceStatus:
        pid = service.running_pid()
        healthy = service.healthy()
        if note is None:
            note = _describe(pid, healthy, self.settings.data_dir)
        return ServiceStatus(service.name, service.version, pid, service.ports(), healthy, note)


def _alive(item: _Starting) -> bool:
    """A process this manager spawned is alive until it is reaped (its PID cannot be reused);
    one found starting (spawned by another run) is checked by its command line."""
    running = child_running(item.pid)
    return is_running(item.pid, item.service.markers()) if running is None else running


def _logs(item: _Starting) -> str:
    return describe_logs(item.service.log_files(), since=item.log_offsets)


def _log_banner(log_path: Path, service: Service) -> None:
    """Separate runs in the process log, which is appended to."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"\n===== naia: starting {service.name} {service.version} at {stamp} =====\n")


def _describe(pid: int | None, healthy: bool, data_dir: object) -> str:
    if pid is not None:
        return "running" if healthy else "running, not answering"
    if healthy:
        return f"answering, but not started by naia from {data_dir}"
    return "stopped"

"""Process plumbing shared by the services: detached spawn, PID files, stop, ports, logs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
_TAIL_BYTES = 64 * 1024
_KILL_WAIT_S = 10.0


class ServiceError(RuntimeError):
    """A service could not be installed, started, probed or stopped."""


class PortTakenError(ServiceError):
    """A port of the service is held by a process naia did not start — often one just killed
    whose socket the kernel has not released yet; the start is tried again (``start_attempts``)."""


@dataclass(frozen=True)
class LaunchSpec:
    """How to start one long-running service process."""

    argv: tuple[str, ...]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to (and overriding) the caller's environment."""


def spawn_detached(spec: LaunchSpec) -> int:
    """Start ``spec`` in a new session, stdin from /dev/null, stdout+stderr appended to its log.

    The process outlives the caller (no controlling terminal, own process group) and no
    ``subprocess.Popen`` object is left behind to be garbage collected.
    """
    executable = spec.argv[0]
    if not os.path.isabs(executable):
        raise ServiceError(f"executable must be an absolute path, got {executable!r}")
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(spec.log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    env = {**os.environ, **spec.env}
    return os.posix_spawn(
        executable,
        list(spec.argv),
        env,
        file_actions=actions,
        setsid=True,
        setsigmask=(),
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT),
    )


def read_pid(pid_path: Path) -> int | None:
    """The PID stored in ``pid_path``, or None if the file is missing or garbled."""
    try:
        text = pid_path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def write_pid(pid_path: Path, pid: int) -> None:
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pid_path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(pid_path)


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is an exited child of ours, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return stat.rpartition(")")[2].strip()[:1] or None


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", errors="replace")


def is_running(pid: int, markers: Sequence[str]) -> bool:
    """True if ``pid`` is alive (not a zombie) and its command line contains every marker.

    The markers guard against a stale PID file pointing at a recycled, unrelated PID.
    """
    _reap(pid)
    state = _proc_state(pid)
    if state is None or state in {"Z", "X"}:
        return False
    command = _cmdline(pid)
    return all(marker in command for marker in markers)


def child_running(pid: int) -> bool | None:
    """Whether ``pid``, a child of this process, still runs (reaping it if it exited); None
    when it is not our child. A child's PID cannot be reused before it is reaped, so this needs
    no command-line check (which a busy or starting process may fail to answer)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return done == 0


def find_processes(markers: Sequence[str], exclude: Sequence[int] = ()) -> list[int]:
    """PIDs (not this process, nor ``exclude``) whose command line holds every marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == os.getpid() or pid in exclude:
            continue
        state = _proc_state(pid)
        if state is None or state in {"Z", "X"}:
            continue
        command = _cmdline(pid)
        if command and all(marker in command for marker in markers):
            found.append(pid)
    return found


def kill_processes(pids: Sequence[int], timeout_s: float = _KILL_WAIT_S) -> None:
    """SIGKILL ``pids`` and wait until they are gone (reaped if they are our children)."""
    for pid in pids:
        _signal(pid, signal.SIGKILL, group=False)

    def gone() -> bool:
        for pid in pids:
            _reap(pid)
        return all(_proc_state(pid) in {None, "Z", "X"} for pid in pids)

    if not wait_for(gone, timeout_s, 0.05):
        raise ServiceError(f"processes {list(pids)} survived SIGKILL")


def wait_for(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout_s`` elapses (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def _signal(pid: int, signum: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def stop_process(pid: int, markers: Sequence[str], timeout_s: float) -> str:
    """SIGTERM ``pid``; SIGKILL its process group after ``timeout_s``.

    Returns ``"not running"``, ``"stopped"`` or ``"killed"``.
    """
    if not is_running(pid, markers):
        return "not running"
    _signal(pid, signal.SIGTERM, group=False)
    if wait_for(lambda: not is_running(pid, markers), timeout_s):
        return "stopped"
    _signal(pid, signal.SIGKILL, group=True)
    if wait_for(lambda: not is_running(pid, markers), _KILL_WAIT_S):
        return "killed"
    raise ServiceError(f"process {pid} survived SIGKILL")


class SelfConnectedError(ConnectionRefusedError):
    """A connection to a loopback port nobody listens on that the kernel made to itself."""


def connect_loopback(port: int, timeout_s: float, source_port: int = 0) -> socket.socket:
    """A TCP connection to ``127.0.0.1:port``, refused when it is a self-connection.

    Probing a port inside the ephemeral range (32768–60999 on Linux) that nothing listens on
    can make the kernel pick that very port as the client's: the socket connects to itself
    (TCP simultaneous open), looks like a live service, and holds the port while the service
    tries to bind it ("Address already in use"). Such a socket is reset at once (no TIME_WAIT)
    and reported as refused."""
    sock = socket.create_connection((LOOPBACK, port), timeout=timeout_s,
                                    source_address=(LOOPBACK, source_port))  # fmt: skip
    if sock.getsockname() == sock.getpeername():
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        raise SelfConnectedError(f"{LOOPBACK}:{port}: connected to itself, nothing listens")
    return sock


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True if something accepts TCP connections on ``host:port`` (a self-connection aside)."""
    if host != LOOPBACK:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0
    try:
        connect_loopback(port, 0.5).close()
    except OSError:
        return False
    return True


def log_offsets(paths: Sequence[Path]) -> dict[Path, int]:
    """The current size of each log, to show later only what a new run appended."""
    return {path: path.stat().st_size if path.exists() else 0 for path in paths}


def tail(path: Path, lines: int = 40, start: int = 0) -> str:
    """The last ``lines`` lines of ``path`` written after byte ``start`` ("" if none).

    A file smaller than ``start`` (rotated meanwhile) is read from its beginning.
    """
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            begin = start if start <= size else 0
            handle.seek(max(begin, size - _TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def describe_logs(
    paths: Sequence[Path], lines: int = 40, since: Mapping[Path, int] | None = None
) -> str:
    """A readable block with the tail of each log file (from ``since[path]`` on, if given)."""
    blocks = []
    for path in paths:
        text = tail(path, lines, (since or {}).get(path, 0))
        if text.strip():
            blocks.append(f"--- last {lines} lines of {path} ---\n{text}")
    return "\n".join(blocks) if blocks else "(no log output)"


def run_logged(
    argv: Sequence[str],
    log_path: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    what: str = "",
) -> None:
    """Run a short command to completion, appending its output to ``log_path``.

    Raises :class:`ServiceError` with the log tail if it fails or times out.
    """
    label = what or " ".join(argv[:3])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"{label}: timed out after {timeout_s:.0f}s\n{describe_logs([log_path])}"
            ) from None
    if result.returncode != 0:
        raise ServiceError(
            f"{label}: exited with code {result.returncode}\n{describe_logs([log_path])}"
        )


def apt_install(package: str, log_path: Path) -> None:
    if os.geteuid() != 0:
        raise ServiceError(f"{package} is missing; install it with: sudo apt-get install {package}")
    apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ("apt-get", "install", "-y", "--no-install-recommends", package)
    try:
        run_logged(install, log_path, 900, apt_env, f"apt-get install {package}")
    except ServiceError:
        run_logged(("apt-get", "update"), log_path, 900, apt_env, "apt-get update")
        run_logged(install, log_path, 900, apt_env, f"apt-get install {package}")


def ensure_command(command: str, apt_package: str, log_path: Path) -> str:
    """The absolute path of ``command``, installing Debian's ``apt_package`` if it is missing."""
    found = shutil.which(command)
    if found is None:
        apt_install(apt_package, log_path)
        found = shutil.which(command)
    if found is None:
        raise ServiceError(f"{command} still missing after installing {apt_package}")
    return found

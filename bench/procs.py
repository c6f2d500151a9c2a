"""Processes under measurement: CPU seconds, peak RSS, clean stops.

Every process the benchmark starts goes through :class:`Proc`. CPU time comes from
``/proc/<pid>/stat`` (utime + stime of all threads) while it runs and from ``wait4``'s rusage when
it ends. Peak RSS is ``VmHWM`` from ``/proc/<pid>/status``, read every time the process is polled
(every 50 ms while waiting for it) and at the end of the measured window; ``ru_maxrss`` is NOT used:
Linux carries the forking parent's RSS into the child's ``maxrss`` across ``exec``, so it would
report the harness's size for any smaller child. Each process gets its own session so a stop
reaches its children too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
LIVE: dict[int, Proc] = {}  # every process started and not yet reaped, for the last-resort cleanup


class BenchError(RuntimeError):
    """A scenario could not be measured (a process failed, a count never came)."""


def _stat_cpu(path: str) -> float:
    with open(path, encoding="ascii", errors="replace") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all threads) so far."""
    return _stat_cpu(f"/proc/{pid}/stat")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far per thread name, numbers dropped ("shared-network_1" →
    "shared-network"): a JVM's pools, native work included (JFR samples Java frames only)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text(errors="replace").strip()
            used = _stat_cpu(str(task / "stat"))
        except OSError:  # the thread ended meanwhile
            continue
        key = re.sub(r"[_#\d]+$", "", name)  # comm is cut at 15 characters
        out[key] = out.get(key, 0.0) + used
    return out


def hwm_kb(pid: int) -> int:
    """Peak resident set size (VmHWM) in kB, 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


@dataclass
class Usage:
    """What one process cost over the measured window."""

    name: str
    cpu_s: float
    peak_rss_mb: float
    exit_code: int | None = None

    def per_million(self, values: int) -> float:
        return self.cpu_s / values * 1e6 if values else 0.0


@dataclass
class Proc:
    """A started process: ``mark()`` the CPU at the window's start, ``usage()`` at its end."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    cpu_mark: float = 0.0
    final_cpu: float | None = None
    final_rss_kb: int = 0
    returncode: int | None = None
    started_at: float = 0.0

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        LIVE[self.pid] = self
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.returncode is None and self._poll() is None

    def mark(self) -> None:
        """Start of the measured window: CPU spent before it (imports, start-up) is excluded."""
        self.cpu_mark = cpu_seconds(self.pid)

    def cpu_now(self) -> float:
        if self.final_cpu is not None:
            return self.final_cpu - self.cpu_mark
        return cpu_seconds(self.pid) - self.cpu_mark

    def usage(self) -> Usage:
        """CPU since ``mark()`` and peak RSS so far (or at exit)."""
        rss = max(self.final_rss_kb, hwm_kb(self.pid) if self.returncode is None else 0)
        return Usage(self.name, self.cpu_now(), rss / 1024, self.returncode)

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; raise BenchError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._poll() is None:
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(
                    f"{self.name} did not finish within {timeout:.0f} s (see {self.log})"
                )
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (SIGKILL after ``grace``) the process group, then reap it."""
        if self.popen is None or self.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + wait
            while self._poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.returncode is not None:
                return

    def _poll(self) -> int | None:
        """Reap with wait4 when it has ended, keeping its rusage (CPU, max RSS)."""
        if self.returncode is not None:
            return self.returncode
        assert self.popen is not None
        rss_now = hwm_kb(self.pid)
        self.final_rss_kb = max(self.final_rss_kb, rss_now)
        try:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.returncode = self.popen.returncode if self.popen.returncode is not None else -1
            LIVE.pop(self.pid, None)
            return self.returncode
        if pid == 0:
            return None
        self.returncode = os.waitstatus_to_exitcode(status)
        self.popen.returncode = self.returncode
        self.final_cpu = rusage.ru_utime + rusage.ru_stime
        LIVE.pop(self.pid, None)
        return self.returncode


def start(name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Proc:
    return Proc(name, list(argv), log, dict(env or {})).start()


def stop_all() -> None:
    for proc in list(LIVE.values()):
        proc.stop(grace=10.0)


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[None]:
    """Stop these processes however the block ends."""
    try:
        yield
    finally:
        for proc in reversed(procs):
            proc.stop()


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.1,
    guard: Callable[[], None] | None = None,
) -> float:
    """Poll ``predicate`` until true; return the monotonic time it became true.

    ``guard`` runs every round and may raise (e.g. when a process under test died).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if guard is not None:
            guard()
        try:
            if predicate():
                return time.monotonic()
        except OSError:
            pass
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def ensure_alive(*procs: Proc) -> Callable[[], None]:
    def guard() -> None:
        for proc in procs:
            if not proc.alive():
                raise BenchError(
                    f"{proc.name} exited with {proc.returncode}:\n{log_tail(proc.log)}"
                )

    return guard

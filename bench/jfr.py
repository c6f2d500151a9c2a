"""Java Flight Recorder sampling of a running JVM service (QuestDB), summarised like py-spy's.

JFR ships with the JDK that runs the service: ``jcmd <pid> JFR.start`` / ``JFR.stop`` record
while a scenario runs, ``jfr print --events jdk.ExecutionSample`` gives the sampled stacks.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.profiles import Stack

NAME = "naia-bench"
DEPTH = 64
_THREAD = re.compile(r'sampledThread = "([^"]*)"')
_FRAME = re.compile(r"^\s+([\w.$<>]+)\(", re.MULTILINE)


def jdk_bin(pid: int) -> Path:
    """The bin/ of the JDK running ``pid`` (its jcmd and jfr match that JVM)."""
    return Path(os.readlink(f"/proc/{pid}/exe")).parent


def _run(argv: list[str], timeout: float = 120.0) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@contextlib.contextmanager
def recording(pid: int, out: Path) -> Iterator[Path]:
    """Record ``pid`` with JFR's ``profile`` settings while the block runs; the file at exit."""
    jcmd = str(jdk_bin(pid) / "jcmd")
    _run([jcmd, str(pid), "JFR.start", f"name={NAME}", "settings=profile", f"filename={out}"])
    try:
        yield out
    finally:
        _run([jcmd, str(pid), "JFR.stop", f"name={NAME}"])


def _short(frame: str) -> str:
    """'io.questdb.cutlass.line.tcp.LineTcpParser.completeEntity' → 'LineTcpParser.completeEntity
    (cutlass.line.tcp)': class and method first, the package for context."""
    path, _, method = frame.rpartition(".")
    package, _, cls = path.rpartition(".")
    return f"{cls}.{method} ({package.removeprefix('io.questdb.')})"


def stacks(jdk: Path, recorded: Path) -> list[Stack]:
    """The execution samples of a recording (``jdk``: the bin/ of the JDK that recorded it),
    thread names without their numbers."""
    text = _run(
        [
            str(jdk / "jfr"),
            "print",
            "--events",
            "jdk.ExecutionSample",
            "--stack-depth",
            str(DEPTH),
            str(recorded),
        ],
        timeout=300,
    )
    out: list[Stack] = []
    for event in text.split("jdk.ExecutionSample")[1:]:
        frames = _FRAME.findall(event)
        if not frames:
            continue
        thread = _THREAD.search(event)
        name = re.sub(r"_\d+$", "", thread.group(1)) if thread else "?"
        out.append((name, [_short(f) for f in reversed(frames)], 1))
    return out

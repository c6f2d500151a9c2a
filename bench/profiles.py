"""py-spy sampling of NAIA processes, summarised as text (top functions by self and total time)."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from bench.procs import Proc, start

RATE = 67  # samples/s: enough resolution, little overhead


def py_spy(peers_bin: Path) -> Path | None:
    exe = peers_bin / "py-spy"
    return exe if exe.exists() else None


def attach(exe: Path, target: Proc, raw: Path, log: Path) -> Proc:
    """Sample ``target`` (all its threads, non-blocking) until it exits or we SIGINT py-spy."""
    argv = [
        str(exe),
        "record",
        "--pid",
        str(target.pid),
        "--rate",
        str(RATE),
        "--nonblocking",
        "--threads",
        "--format",
        "raw",
        "--output",
        str(raw),
    ]
    return start(f"py-spy {target.name}", argv, log)


def finish(spy: Proc, timeout: float = 60.0) -> None:
    """Ask py-spy to write its output (SIGINT), wait for it."""
    if spy.alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(spy.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while spy.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    spy.stop(grace=5)


def _frame(text: str) -> str:
    """'func (path/to/file.py:12)' → 'func (file.py)' keeps functions apart, lines together."""
    name, _, where = text.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    for anchor in ("naia", "site-packages"):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            path = "/".join(parts[idx + (1 if anchor == "site-packages" else 0) :])
            break
    else:
        path = "/".join(parts[-2:])
    return f"{name} ({path})"


Stack = tuple[str, list[str], int]
"""(thread, frames from the outermost to the running one, samples)."""


def raw_stacks(raw: Path) -> list[Stack]:
    """py-spy's collapsed stacks: ``thread;frame;…;frame count`` per line."""
    out: list[Stack] = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        out.append((frames[0].split(": ", 1)[-1], [_frame(f) for f in frames[1:]], int(count_text)))
    return out


def summary(stacks: list[Stack], title: str, what: str, top: int = 25) -> str:
    """Threads, then the top frames by self samples and by inclusive samples."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    for thread, frames, count in stacks:
        names = frames or ["<idle>"]
        threads[thread] += count
        own[names[-1]] += count
        for name in set(names):
            total[name] += count
    samples = sum(threads.values())
    if not samples:
        return f"# {title}\n\n(no samples)\n"
    lines = [
        f"# {title}",
        "",
        f"{samples} samples {what}",
        "",
        "## threads",
        *(f"{c / samples:6.1%}  {t}" for t, c in threads.most_common(8)),
        "",
        "## self time (the frame itself was running)",
    ]
    lines += [f"{c / samples:6.1%}  {n}" for n, c in own.most_common(top)]
    lines += ["", "## total time (the frame was on the stack)"]
    lines += [f"{c / samples:6.1%}  {n}" for n, c in total.most_common(2 * top)]
    return "\n".join(lines) + "\n"


def top_of(stacks: list[Stack], n: int = 8) -> list[tuple[str, float]]:
    """The n frames with the most self time, as (frame, share)."""
    own: collections.Counter[str] = collections.Counter()
    for _, names, count in stacks:
        own[names[-1] if names else "<idle>"] += count
    samples = sum(own.values())
    return [(name, c / samples) for name, c in own.most_common(n)] if samples else []


def summarise(raw: Path, title: str, top: int = 25) -> str:
    return summary(raw_stacks(raw), title, f"at {RATE}/s of non-idle threads", top)


def top_entries(raw: Path, n: int = 8) -> list[tuple[str, float]]:
    return top_of(raw_stacks(raw), n)


def run_profiled(
    exe: Path, argv: list[str], raw: Path, log: Path, env: dict[str, str], timeout: float
) -> int:
    """Run a command under py-spy from its start to its end."""
    cmd = [
        str(exe),
        "record",
        "--rate",
        str(RATE),
        "--nonblocking",
        "--threads",
        "--format",
        "raw",
        "--output",
        str(raw),
        "--",
        *argv,
    ]
    with log.open("ab") as out:
        done = subprocess.run(
            cmd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    return done.returncode

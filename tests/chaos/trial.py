"""One chaos trial: a distributed backfill, one fault at a random moment of it, then the checks."""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pyarrow as pa
import redis

from naia.sources.simulator import SimulatorSource
from tests.chaos.cluster import NAIA_PROCESSES, PORTS, SERVICES, Cluster

TARGETS = ("api", "worker", "kafka", "questdb", "redis")
MODES = ("kill9", "stop")
KINDS = tuple((target, mode) for target in TARGETS for mode in MODES)
WINDOW_START = datetime(2025, 1, 1, tzinfo=UTC)
COMPLETE_TIMEOUT_S = 240.0
SERVING_TIMEOUT_S = 90.0
POINT_BASE = 100_000


@dataclass(frozen=True)
class Sizing:
    points: int = 8
    days: int = 16
    chunk: str = "1.00:00:00"
    fault_after_s: tuple[float, float] = (1.0, 8.0)
    outage_s: tuple[float, float] = (10.0, 25.0)


@dataclass(frozen=True)
class TrialSpec:
    number: int
    target: str
    mode: str
    fault_after_s: float
    outage_s: float
    points: tuple[str, ...]
    start: datetime
    end: datetime
    chunk: str

    @property
    def kind(self) -> str:
        return f"{self.target}/{self.mode}"


def plan(seed: int, number: int, sizing: Sizing) -> TrialSpec:
    """Trial ``number`` of a run seeded with ``seed``: its kind cycles through every kind in a
    seeded order, its moments come from its own generator, so one trial reproduces alone."""
    cycle, slot = divmod(number, len(KINDS))
    order = list(KINDS)
    random.Random(f"{seed}:cycle:{cycle}").shuffle(order)
    target, mode = order[slot]
    rng = random.Random(f"{seed}:trial:{number}")
    base = POINT_BASE + number * 100
    return TrialSpec(
        number=number,
        target=target,
        mode=mode,
        fault_after_s=round(rng.uniform(*sizing.fault_after_s), 1),
        outage_s=round(rng.uniform(*sizing.outage_s), 1),
        points=tuple(f"SIM.{base + i}" for i in range(sizing.points)),
        start=WINDOW_START,
        end=WINDOW_START + timedelta(days=sizing.days),
        chunk=sizing.chunk,
    )


@dataclass(frozen=True)
class Expected:
    count: int
    sum: float
    last_ts_us: int
    last_value: float


def expected_for(spec: TrialSpec) -> dict[str, Expected]:
    """Per point: count, sum of values, and the last event, as the Simulator generates them."""
    table = pa.Table.from_batches(list(SimulatorSource().read(spec.points, spec.start, spec.end)))
    addresses = np.asarray(table.column("source_address").cast(pa.string()).to_numpy(False))
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    values = table.column("value").fill_null(0.0).to_numpy()
    found: dict[str, Expected] = {}
    for point in spec.points:
        mine = addresses == point
        point_ts, point_values = ts[mine], values[mine]
        last = int(np.lexsort((table.column("seq").to_numpy()[mine], point_ts))[-1])
        found[point] = Expected(
            count=int(mine.sum()),
            sum=math.fsum(point_values.tolist()),
            last_ts_us=int(point_ts[last]),
            last_value=float(point_values[last]),
        )
    return found


@dataclass
class TrialResult:
    spec: TrialSpec
    request_id: str = ""
    status_at_fault: str = ""
    final_status: str = ""
    expected_values: int = 0
    stored_values: int = 0
    distinct_values: int = 0
    failures: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def lost(self) -> int:
        return max(0, self.expected_values - self.stored_values)

    @property
    def doubled(self) -> int:
        return max(0, self.stored_values - self.distinct_values)


class Trial:
    def __init__(self, cluster: Cluster, spec: TrialSpec, log: list[str]) -> None:
        self.cluster = cluster
        self.spec = spec
        self.result = TrialResult(spec)
        self._log = log
        self._restarted_by_harness = False

    def say(self, message: str) -> None:
        line = f"[trial {self.spec.number} {self.spec.kind}] {message}"
        print(line, flush=True)
        self._log.append(line)

    def run(self) -> TrialResult:
        began = time.monotonic()
        expected = expected_for(self.spec)
        self.result.expected_values = sum(e.count for e in expected.values())
        try:
            self._submit()
            self._fault()
            self._await_completion(expected)
            self._check_data(expected)
            self._check_serving()
        except Exception as exc:  # a trial records what broke and the run goes on
            self.result.failures.append(f"{type(exc).__name__}: {exc}")
        self.result.seconds = time.monotonic() - began
        self.say("PASS" if self.result.passed else f"FAIL: {'; '.join(self.result.failures)}")
        return self.result

    # -- steps ---------------------------------------------------------------------------------

    def _submit(self) -> None:
        body = {
            "connectorType": "Simulator",
            "pointAddresses": list(self.spec.points),
            "startTime": self.spec.start.isoformat(),
            "endTime": self.spec.end.isoformat(),
            "chunkSize": self.spec.chunk,
        }
        response = httpx.post(f"{self.cluster.url}/api/backfill/start", json=body, timeout=60)
        if response.status_code != 200:
            raise AssertionError(f"start answered {response.status_code}: {response.text[:200]}")
        self.result.request_id = response.json()["data"]["requestId"]
        self._submitted = time.monotonic()
        self.say(f"request {self.result.request_id}: {self.result.expected_values} values")

    def _fault(self) -> None:
        spec = self.spec
        time.sleep(max(0.0, self._submitted + spec.fault_after_s - time.monotonic()))
        view = self.cluster.request(self.result.request_id)
        self.result.status_at_fault = str(view["status"]) if view else "unknown"
        pid = self._target_pid()
        sig = signal.SIGKILL if spec.mode == "kill9" else signal.SIGSTOP
        self.say(
            f"{spec.mode} {spec.target} (pid {pid}) at +{spec.fault_after_s}s "
            f"(request {self.result.status_at_fault}); outage {spec.outage_s}s"
        )
        os.kill(pid, sig)
        time.sleep(spec.outage_s)
        if spec.mode == "stop":
            os.kill(pid, signal.SIGCONT)
        elif spec.target in NAIA_PROCESSES:
            process = self.cluster.process(spec.target)
            if process.proc is not None:
                process.proc.wait(10)
            process.start()
        else:
            _reap(pid)
            self.cluster.restart_service(spec.target)
        self.say("restored")

    def _target_pid(self) -> int:
        if self.spec.target in NAIA_PROCESSES:
            return self.cluster.process(self.spec.target).pid
        pid = self.cluster.service_pid(self.spec.target)
        if pid is None:
            raise AssertionError(f"{self.spec.target} is not running before the fault")
        return pid

    def _note_dead(self) -> None:
        """A process that died without being killed is a failure; restart it so the trial can
        still check the data (and the next trial starts whole)."""
        for process in (self.cluster.api, self.cluster.worker):
            code = process.exit_code()
            if code is not None:
                message = f"{process.name} exited by itself (code {code}: {process.last_error()})"
                self.result.dead.append(process.name)
                self.result.failures.append(message)
                self.say(f"{message}; last log lines:\n{process.log_tail()}")
                process.start()
        for service in SERVICES:
            if self.cluster.service_pid(service) is None:
                self.result.dead.append(service)
                self.result.failures.append(f"{service} died")
                self.cluster.restart_service(service)

    def _await_completion(self, expected: dict[str, Expected]) -> None:
        deadline = time.monotonic() + COMPLETE_TIMEOUT_S
        want = self.result.expected_values
        while time.monotonic() < deadline:
            self._note_dead()
            view = self.cluster.request(self.result.request_id)
            if view is not None:
                self.result.final_status = str(view["status"])
            if self.result.final_status in ("Failed", "Cancelled"):
                raise AssertionError(f"request ended {self.result.final_status}")
            done = self.result.final_status == "Completed" and self._stored() >= want
            if done and self.cluster.backlog() == 0:
                return
            time.sleep(1.0)
        raise AssertionError(
            f"not complete after {COMPLETE_TIMEOUT_S:.0f}s: status {self.result.final_status}, "
            f"stored {self._stored()} of {want}"
        )

    def _in_points(self) -> str:
        return ", ".join(f"'{p}'" for p in self.spec.points)

    def _stored(self) -> int:
        try:
            rows = self.cluster.sql(
                f"SELECT count() FROM point_data WHERE source_address IN ({self._in_points()})"
            )
        except Exception:
            return -1
        return int(str(rows[0][0]))

    def _check_data(self, expected: dict[str, Expected]) -> None:
        points = self._in_points()
        rows = self.cluster.sql(
            "SELECT source_address, count(), sum(value) FROM point_data "
            f"WHERE source_address IN ({points}) GROUP BY source_address"
        )
        distinct = self.cluster.sql(
            "SELECT count() FROM (SELECT DISTINCT ts, source_address, seq FROM point_data "
            f"WHERE source_address IN ({points}))"
        )
        self.result.stored_values = sum(int(str(row[1])) for row in rows)
        self.result.distinct_values = int(str(distinct[0][0]))
        if self.result.stored_values != self.result.expected_values:
            self.result.failures.append(
                f"count {self.result.stored_values} != {self.result.expected_values}"
            )
        if self.result.distinct_values != self.result.stored_values:
            self.result.failures.append(f"{self.result.doubled} duplicate rows")
        stored = {str(row[0]): (int(str(row[1])), float(str(row[2]))) for row in rows}
        for point, want in expected.items():
            count, total = stored.get(point, (0, 0.0))
            if count != want.count or not math.isclose(total, want.sum, rel_tol=1e-9):
                self.result.failures.append(
                    f"{point}: {count} values summing {total} != {want.count} summing {want.sum}"
                )
        self._check_latest(expected)

    def _check_latest(self, expected: dict[str, Expected]) -> None:
        client = redis.Redis(port=PORTS["redis"], socket_timeout=10)
        try:
            missing, wrong = [], []
            for point, want in expected.items():
                raw = client.hgetall(f"naia:latest:{point}")
                latest = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
                if not latest:
                    missing.append(point)
                elif int(latest["ts"]) != want.last_ts_us or not math.isclose(
                    float(latest["value"]), want.last_value, rel_tol=1e-9
                ):
                    wrong.append(f"{point}: {latest} != ts {want.last_ts_us} {want.last_value}")
        finally:
            client.close()
        if missing:
            self.result.failures.append(f"Redis latest missing for {len(missing)} points")
        if wrong:
            self.result.failures.append(f"Redis latest wrong: {wrong[:2]}")

    def _check_serving(self) -> None:
        """Every process answers a real request, none restarted but the one killed."""
        probes = {
            "api": self.cluster.api_serving,
            "worker": self.cluster.worker_serving,
            **{s: (lambda s=s: self.cluster.service_serving(s)) for s in SERVICES},
        }
        deadline = time.monotonic() + SERVING_TIMEOUT_S
        waiting = dict(probes)
        while waiting and time.monotonic() < deadline:
            waiting = {name: probe for name, probe in waiting.items() if not probe()}
            if waiting:
                time.sleep(0.5)
        for name in waiting:
            self.result.failures.append(f"{name} not serving {SERVING_TIMEOUT_S:.0f}s after")
        self._note_dead()


def _reap(pid: int) -> None:
    """Collect a killed service if this process spawned it (else it stays a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

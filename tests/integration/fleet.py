"""A slice of the real services for fleet fetching: an API in fleet mode, `naia fetch` processes."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc

from naia.sinks.questdb.client import execute
from naia.sources.simulator import SimulatorSource
from naia.transports.kafka.settings import KafkaSettings
from naia.transports.kafka.units import decode_outcome
from tests.contract.source_contract import read_table
from tests.helpers import naia, wait_for
from tests.integration.distributed import Slice, read_committed, stop


def fleet_slice(tmp: Path, table: str, **extra: str) -> FleetSlice:
    s = FleetSlice(tmp, table=table)
    t = s.tag
    s.extra = {
        "NAIA_ORCHESTRATOR__FETCHERS": "fleet",
        "NAIA_KAFKA__UNITS_TOPIC": f"t{t}.units",
        "NAIA_KAFKA__FLEET_TOPIC": f"t{t}.fleet",
        "NAIA_KAFKA__FETCH_GROUP": f"t{t}-fetch",
        **extra,
    }
    return s


@dataclass
class FleetSlice(Slice):
    fetchers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def fleet_kafka(self) -> KafkaSettings:
        return self.kafka.model_copy(
            update={
                "units_topic": self.extra["NAIA_KAFKA__UNITS_TOPIC"],
                "fleet_topic": self.extra["NAIA_KAFKA__FLEET_TOPIC"],
                "fetch_group": self.extra["NAIA_KAFKA__FETCH_GROUP"],
            }
        )

    def log(self, name: str) -> Path:
        return self.tmp / f"fetch-{name}.log"

    def start_fetcher(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        proc = naia("fetch", "--id", name, env={**self.env(), **env}, log=self.log(name))
        self.fetchers[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        stop(self.fetchers.pop(name), sig)

    def stop_all(self) -> None:
        for name in list(self.fetchers):
            self.kill(name, signal.SIGTERM)

    def assigned(self, name: str) -> int:
        """Unit partitions the fetcher holds after its last rebalance (from its log)."""
        text = self.log(name).read_text() if self.log(name).exists() else ""
        found = re.findall(r"(\d+) unit partition\(s\) (assigned|revoked)", text)
        if not found:
            return 0
        count, what = found[-1]
        return int(count) if what == "assigned" else 0

    def wait_balanced(self, names: list[str], partitions: int = 12, timeout: float = 90) -> None:
        wait_for(lambda: sum(self.assigned(n) for n in names) == partitions
                 and all(self.assigned(n) > 0 for n in names), timeout,
                 f"{names} to share the unit partitions")  # fmt: skip

    def outcomes(self) -> list[tuple[str, int, str, str]]:
        """(request, unit, kind, fetcher) of every committed outcome on the fleet topic."""
        found = []
        for m in read_committed(self.fleet_kafka.fleet_topic, 1):
            if m.key().startswith(b"outcome:") and m.value() is not None:
                rid, o = decode_outcome(m.value())
                found.append((rid, o.unit_index, o.kind, o.fetcher))
        return found

    def done_by(self) -> Counter[str]:
        return Counter(f for _, _, kind, f in self.outcomes() if kind == "done")

    def log_lines(self, pattern: str) -> int:
        return sum(len(re.findall(pattern, p.read_text())) for p in self.tmp.glob("fetch-*.log"))

    def sums(self) -> dict[str, tuple[int, float]]:
        sql = f"SELECT source_address, count(), sum(value) FROM {self.table} ORDER BY 1"
        rows = execute(self.questdb, sql)["dataset"]
        return {r[0]: (int(r[1]), float(r[2] or 0.0)) for r in rows}


def simulator_sums(
    points: list[str], start: datetime, end: datetime
) -> dict[str, tuple[int, float]]:
    table = read_table(SimulatorSource(), points, start, end)
    sums = {}
    for point in points:
        rows = table.filter(pc.equal(table["source_address"], point))
        sums[point] = (rows.num_rows, float(pc.sum(rows["value"]).as_py() or 0.0))
    return sums


def assert_sums_equal(actual: dict[str, tuple[int, float]],
                      expected: dict[str, tuple[int, float]]) -> None:  # fmt: skip
    assert sorted(actual) == sorted(expected)
    for point, (count, total) in expected.items():
        got_count, got_total = actual[point]
        assert got_count == count, (point, got_count, count)
        assert abs(got_total - total) <= 1e-9 * max(1.0, abs(total)), (point, got_total, total)


@contextmanager
def with_worker(tmp_path: Path, table: str, **env: str) -> Iterator[FleetSlice]:
    """A fresh slice (its own QuestDB table) with its `naia ingest`; every fetcher and the worker
    stopped at the end."""
    s = fleet_slice(tmp_path, f"{table}_{int(time.time())}", **env)
    worker = s.start_worker()
    try:
        yield s
    finally:
        s.stop_all()
        worker.terminate()
        worker.wait(30)


@contextmanager
def fleet(
    tmp_path: Path, table: str, fetchers: Sequence[str], **env: str
) -> Iterator[tuple[FleetSlice, str]]:
    """``with_worker`` plus an API and the named fetchers, once the group has balanced them."""
    with with_worker(tmp_path, table, **env) as s, s.api() as url:
        for name in fetchers:
            s.start_fetcher(name)
        s.wait_balanced(list(fetchers))
        yield s, url

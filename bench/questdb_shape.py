"""Probe: what QuestDB's ingestion costs depending on row order and commit size.

The same rows (Simulator, 1-minute data) go through the QuestDB client's ``dataframe()`` path
(what NAIA's sink does) into a fresh table with NAIA's DDL, either point-major (one point's whole
window after the other, as a chunk arrives from a source) or time-major (sorted by ts across
points), flushed (one HTTP request = one WAL commit) every ``commit_rows`` rows. Measured: wall
time until ``SELECT count()`` shows every row, and QuestDB's CPU seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from questdb import Sender

from bench import datasets, infra
from bench.procs import cpu_seconds, wait_until

BATCH_ROWS = 100_000  # rows per dataframe() call, as NAIA's messages


@dataclass(frozen=True)
class Shape:
    order: str  # "point" or "time"
    commit_rows: int
    rows: int
    wall_s: float
    questdb_cpu_s: float

    def as_dict(self) -> dict[str, object]:
        return {
            "order": self.order,
            "commit_rows": self.commit_rows,
            "rows": self.rows,
            "wall_s": round(self.wall_s, 2),
            "rows_per_s": round(self.rows / self.wall_s),
            "questdb_cpu_s_per_million": round(self.questdb_cpu_s / self.rows * 1e6, 2),
        }


def rows(names: list[str], start: datetime, end: datetime, order: str) -> pa.Table:
    table = pa.Table.from_batches(list(datasets.source(False).read(names, start, end)))
    if order == "time":
        table = table.take(pc.sort_indices(table.column("ts")))
    return table


def measure(table: pa.Table, order: str, commit_rows: int) -> Shape:
    name = f"bench_shape_{order}_{commit_rows}"
    infra.drop_table(name)
    infra.create_table(name)
    pid = infra.service_pids()["questdb"]
    try:
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        conf = f"http::addr=127.0.0.1:{infra.QDB_PORT};auto_flush=off;max_buf_size=268435456;"
        with Sender.from_conf(conf) as sender:
            for offset in range(0, table.num_rows, commit_rows):
                part = table.slice(offset, commit_rows).combine_chunks()
                for batch in part.to_batches(max_chunksize=BATCH_ROWS):
                    sender.dataframe(
                        batch.to_pandas(), table_name=name, symbols=["source_address"], at="ts"
                    )
                sender.flush()
        t1 = wait_until(
            lambda: infra.qdb_count(name) >= table.num_rows, 600, f"{name}", interval=0.1
        )
        return Shape(order, commit_rows, table.num_rows, t1 - t0, cpu_seconds(pid) - cpu0)
    finally:
        infra.drop_table(name)

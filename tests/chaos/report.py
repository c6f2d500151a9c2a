"""docs/reliability.md from a chaos run: what ran, on which versions, and what held."""

from __future__ import annotations

import os
import platform
import subprocess
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import confluent_kafka

import naia
from tests.chaos.cluster import Cluster
from tests.chaos.trial import KINDS, Sizing, TrialResult

HEADER = """# Reliability: the chaos suite

Written by `make chaos` (`python -m tests.chaos`, code in `tests/chaos/`); do not edit by hand.

Each trial submits a distributed backfill of the Simulator to `naia api` (its own points, so
trials never share data), and at a random moment of it either **kill -9**s or **SIGSTOP**s one of
the API, the worker (`naia ingest`), the Kafka broker, QuestDB or Redis. The outage lasts tens of
seconds; then a SIGSTOPped process gets SIGCONT, and a killed one is started again, as a
supervisor (systemd `Restart=always`) would: the harness restarts nothing else. When the request
is Completed and the ingestion group has no backlog, the trial checks:

- **count**: the rows in QuestDB for the trial's points equal the Simulator's events (0 lost);
- **duplicates**: distinct `(ts, source_address, seq)` equal the rows (0 doubled);
- **sums**: each point's count and sum of values equal the Simulator's;
- **latest**: `naia:latest:<point>` in Redis holds each point's last event (ts and value);
- **serving**: the API answers `/health`, the worker `/metrics`, Kafka a Metadata request,
  QuestDB `select 1`, Redis `PING`, and no process exited by itself during the trial.

A failed trial lists what broke; a process that exited by itself is named with its last
`error:` line. The harness then starts it again (counted under "processes left dead") so that the
trial's data checks still run and the next trial starts whole.

Services are private instances (`naia services up` on ports 32xxx, data in a temporary folder).
Rerun a run with `make chaos SEED=<seed>`; one trial with
`.venv/bin/python -m tests.chaos --seed <seed> --only <n>`.
"""


def _git(*args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return "?"
    return result.stdout.strip() or "?"


def _versions(cluster: Cluster) -> list[str]:
    settings = cluster.manager.settings
    return [
        f"- NAIA {naia.__version__}, commit `{_git('rev-parse', '--short', 'HEAD')}`"
        f" ({'with uncommitted changes' if _git('status', '--porcelain') != '?' else 'clean'})",
        f"- Kafka {settings.versions.kafka}, QuestDB {settings.versions.questdb}, "
        f"Redis {cluster.manager.services['redis'].version}",
        f"- Python {platform.python_version()}, "
        f"confluent-kafka {metadata.version('confluent-kafka')}"
        f" (librdkafka {confluent_kafka.libversion()[0]}), questdb {metadata.version('questdb')}, "
        f"redis-py {metadata.version('redis')}",
        f"- {platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
    ]


def _kind_rows(results: list[TrialResult]) -> list[str]:
    rows = [
        "| kind | trials | passed | failed | lost | doubled | processes left dead |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for target, mode in KINDS:
        kind = f"{target}/{mode}"
        mine = [r for r in results if r.spec.kind == kind]
        if not mine:
            continue
        passed = sum(1 for r in mine if r.passed)
        dead = Counter(name for r in mine for name in r.dead)
        dead_text = ", ".join(f"{name} ×{n}" for name, n in sorted(dead.items())) or "none"
        rows.append(
            f"| {kind} | {len(mine)} | {passed} | {len(mine) - passed} | "
            f"{sum(r.lost for r in mine)} | {sum(r.doubled for r in mine)} | {dead_text} |"
        )
    return rows


def _trial_rows(results: list[TrialResult]) -> list[str]:
    rows = [
        "| # | kind | fault at | outage | request at fault | values | stored | distinct | "
        "result | s |",
        "| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        outcome = "pass" if r.passed else "FAIL: " + "; ".join(r.failures).replace("|", "/")
        rows.append(
            f"| {r.spec.number} | {r.spec.kind} | +{r.spec.fault_after_s}s | {r.spec.outage_s}s"
            f" | {r.status_at_fault} | {r.expected_values} | {r.stored_values} | "
            f"{r.distinct_values} | {outcome} | {r.seconds:.0f} |"
        )
    return rows


def write_report(
    path: Path,
    seed: int,
    sizing: Sizing,
    results: list[TrialResult],
    elapsed: float,
    cluster: Cluster,
    rate_limit: float,
) -> None:
    passed = sum(1 for r in results if r.passed)
    lost = sum(r.lost for r in results)
    doubled = sum(r.doubled for r in results)
    dead = sum(len(r.dead) for r in results)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADER,
        f"## Last run: {when}, seed {seed}",
        "",
        f"**{passed} of {len(results)} trials passed** in {elapsed / 60:.1f} min; "
        f"{lost} values lost, {doubled} doubled, {dead} processes left dead.",
        "",
        f"Each backfill: {sizing.points} points × {sizing.days} days (one event a minute), chunk "
        f"{sizing.chunk}, the API limited to {rate_limit:,.0f} values/s so a run lasts about "
        f"{sizing.points * sizing.days * 1440 / rate_limit:.0f} s; fault at "
        f"+{sizing.fault_after_s[0]:.0f}…{sizing.fault_after_s[1]:.0f} s after the start, outage "
        f"{sizing.outage_s[0]:.0f}…{sizing.outage_s[1]:.0f} s.",
        "",
        "Versions:",
        "",
        *_versions(cluster),
        "",
        "### By kind",
        "",
        *_kind_rows(results),
        "",
        "### Trials",
        "",
        *_trial_rows(results),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")

"""`make bench`: every scenario and peer, fixed data, warm-up, several runs, medians, report.

Run from the repository root (scripts/bench.sh does): ``.venv/bin/python -m bench.run``.
``BENCH_QUICK=1`` (or ``--quick``) runs one short run of each, for CI-sized checks, and writes
``bench/results/quick-*.json`` without touching docs/performance.md. ``--only s1,s3`` picks
sections (s1, rss, scale, s2, e2e, floor, fetch, fleet, s4, s3, ingest, qdb, profile, afsdk); e2e
runs s2 too; floor measures the parts of scenario 2's command one by one, on its emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from bench import (
    connect,
    datasets,
    fleet,
    infra,
    jfr,
    machine,
    profiles,
    questdb_shape,
    report,
    scenarios,
)
from bench.procs import BenchError, Proc, stop_all
from bench.report import Report, Scenario
from bench.scenarios import Run

ROOT = Path(__file__).resolve().parents[1]
PEERS_BIN = ROOT / "var" / "compat" / "bench-peers" / "bin"  # scripts/bench.sh builds it
PEERS_PYTHON = PEERS_BIN / "python"
PAGE = 10_000  # maxCount per request for both PI Web API readers
SECTIONS = (
    "s1", "rss", "scale", "s2", "e2e", "floor", "fetch", "fleet", "s4", "s3", "ingest", "qdb",
    "profile", "afsdk", "verify",
)  # fmt: skip
YEAR = (datasets.day("2023-01-01"), datasets.day("2024-01-01"))


@dataclass(frozen=True)
class Plan:
    """Sizes and run counts; BENCH_QUICK shrinks everything to one short run."""

    quick: bool

    @property
    def runs(self) -> int:
        return 1 if self.quick else 3

    @property
    def long_runs(self) -> int:
        """Runs of scenario 3 (≈1–1.5 min each on this machine): three for a median, the
        machine's load moves one run by ±15 %."""
        return 1 if self.quick else 3

    def span(self, days: int) -> tuple[datetime, datetime]:
        start = datasets.day("2023-01-01")
        return start, start + timedelta(days=days)

    @property
    def s1(self) -> tuple[int, tuple[datetime, datetime]]:
        return (100, self.span(30)) if self.quick else (100, YEAR)

    @property
    def rss(self) -> tuple[int, tuple[datetime, datetime]]:
        """Issue 17 (d): ten times Test 3 — 1,000 points over the year of scenario 1."""
        return (200, self.span(7)) if self.quick else (1000, YEAR)

    @property
    def scale(self) -> tuple[int, int, int]:
        """(small points, days, big points): the range doubles to 2 × days at big points."""
        return (10, 15, 20) if self.quick else (100, 90, 200)

    @property
    def s2(self) -> tuple[int, tuple[datetime, datetime]]:
        return (10, self.span(7)) if self.quick else (100, self.span(30))

    @property
    def fetch(self) -> tuple[int, tuple[datetime, datetime]]:
        return (5, self.span(7)) if self.quick else (10, self.span(30))

    @property
    def fleet(self) -> tuple[int, tuple[datetime, datetime], str]:
        """Issue 17 (b): (points, range, chunk); 2-hour chunks give many short units, so the
        hash split of units over the fetchers' partitions stays near even."""
        return (10, self.span(2), "02:00:00") if self.quick else (40, self.span(30), "02:00:00")

    @property
    def ingest(self) -> tuple[int, tuple[datetime, datetime]]:
        return (20, self.span(7)) if self.quick else (100, self.span(7))

    @property
    def verify(self) -> tuple[int, tuple[datetime, datetime]]:
        """The seed's Test 3 size (100 points × 1 year), as scenario 1."""
        return (100, self.span(30)) if self.quick else (100, YEAR)

    @property
    def verify_pi(self) -> tuple[int, tuple[datetime, datetime]]:
        return (5, self.span(7)) if self.quick else (50, self.span(30))

    @property
    def profile(self) -> tuple[int, tuple[datetime, datetime]]:
        return (100, self.span(30)) if self.quick else (100, self.span(90))


def _label(n: int, span: tuple[datetime, datetime]) -> str:
    days = (span[1] - span[0]).days
    return f"{n} points × {'1 year' if days == 365 else f'{days} days'}"


def _cmd(argv: list[str]) -> str:
    """A short, shell-quoted rendering (the point list abbreviated)."""
    out = []
    for arg in argv:
        text = arg
        if arg.startswith("SIM.0,") and arg.count(",") > 3:
            text = f"SIM.0,…,SIM.{arg.count(',')}"
        out.append(text.replace(str(ROOT) + "/", ""))
    return shlex.join(out)


def _embedded_run(
    names: list[str], span: tuple[datetime, datetime], expected: int, sid: str
) -> Callable[[int], Run]:
    def once(i: int) -> Run:
        return scenarios.embedded("Simulator", names, *span, expected, f"{sid}-{i}")

    return once


class Bench:
    def __init__(self, plan: Plan, rep: Report) -> None:
        self.plan = plan
        self.rep = rep

    def log(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)

    def measure(self, s: Scenario, runs: int, once: Callable[[int], Run]) -> None:
        """Run ``once`` ``runs`` times into ``s``; a failure is recorded and the rest goes on."""
        self.rep.scenarios.append(s)
        for i in range(runs):
            try:
                run = once(i)
            except (BenchError, OSError, RuntimeError) as exc:
                s.error = str(exc).splitlines()[0][:300]
                self.rep.problems.append(f"{s.id} run {i + 1}: {str(exc)[:1500]}")
                self.log(f"{s.id} run {i + 1} FAILED: {exc}")
                return
            s.runs.append(run)
            self.log(
                f"{s.id} run {i + 1}/{runs}: {run.values:,} values in {run.wall_s:.1f} s = "
                f"{run.rate / 1e6:.2f} M/s; "
                + ", ".join(
                    f"{u.name} {u.cpu_s:.1f} cpu-s {u.peak_rss_mb:.0f} MB" for u in run.usages
                )
            )

    # --- sections ---------------------------------------------------------------------------

    def s1(self) -> None:
        n, span = self.plan.s1
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=False)
        warm = datasets.points(10)
        self.log("s1 warm-up")
        scenarios.embedded(
            "Simulator", warm, span[0], span[0] + timedelta(days=7), 10 * 7 * 1440, "s1-warm"
        )
        argv = scenarios.backfill_argv("Simulator", names, *span, Path("<tmp>.duckdb"), None)
        s = Scenario(
            "s1",
            f"1. Embedded, Simulator → DuckDB, {_label(n, span)}, 30-day chunks",
            _cmd(argv),
            expected,
        )
        self.measure(
            s,
            self.plan.runs,
            lambda i: scenarios.embedded("Simulator", names, *span, expected, f"s1-{i}"),
        )

    def rss(self) -> None:
        n, span = self.plan.rss
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=False)
        argv = scenarios.backfill_argv(
            "Simulator", names, *span, Path("<tmp>.duckdb"), "30.00:00:00"
        )
        s = Scenario(
            "s1-rss",
            f"1b. Ten times Test 3: Simulator → DuckDB, {_label(n, span)}, 30-day chunks",
            _cmd(argv),
            expected,
        )
        self.measure(
            s,
            1,
            lambda i: scenarios.embedded(
                "Simulator", names, *span, expected, "s1-rss", chunk="30.00:00:00"
            ),
        )

    def scale(self) -> None:
        small, days, big = self.plan.scale
        for sid, n, d in (
            ("scale-small", small, days),
            ("scale-big", big, days),
            ("scale-big-2x", big, 2 * days),
        ):
            names, span = datasets.points(n), self.plan.span(d)
            expected = datasets.expected_count(names, *span, realistic=False)
            argv = scenarios.backfill_argv("Simulator", names, *span, Path("<tmp>.duckdb"), None)
            s = Scenario(
                sid, f"1c. Scaling: Simulator → DuckDB, {_label(n, span)}", _cmd(argv), expected
            )
            s.notes.append("scaling uses the engine's own wall time (after start-up)")
            self.measure(s, self.plan.runs, _embedded_run(names, span, expected, sid))

    def s2_s4(
        self, want_s2: bool, want_s4: bool, want_e2e: bool = False, want_floor: bool = False
    ) -> None:
        """One emulator for scenarios 2 and 4: identical requests, so pages are served warm.
        ``want_e2e`` adds the published client's whole command on scenario 2's data (c);
        ``want_floor`` the CPU of each part of scenario 2's command alone (a)."""
        n, span = self.plan.s2
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=True)
        want_s2 = want_s2 or want_e2e
        with scenarios.emulator("s2") as (url, emu):
            env = scenarios.piwebapi_env(url)
            self.log("s2 warm-up (fills the emulator's page cache)")
            scenarios.embedded("PIWebApi", names, *span, expected, "s2-warm", env=env, side=[emu])
            if want_e2e:
                self.e2e_peer(url, emu, names, span, expected)
            if want_floor:
                for i in range(self.plan.runs):
                    parts = scenarios.floor(url, names, *span, expected, f"floor-{i}")
                    self.rep.floor.append(parts)
                    self.log(f"floor {i}: {parts}")
            if want_s2:
                argv = scenarios.backfill_argv("PIWebApi", names, *span, Path("<tmp>.duckdb"), None)
                s = Scenario(
                    "s2",
                    f"2. Embedded, PIWebApi (emulator) → DuckDB, {_label(n, span)}",
                    "NAIA_PIWEBAPI__BASE_URL=… " + _cmd(argv),
                    expected,
                )
                s.notes.append("emulator: REALISTIC Simulator data, pages cached after warm-up")
                self.measure(
                    s,
                    self.plan.runs,
                    lambda i: scenarios.embedded(
                        "PIWebApi", names, *span, expected, f"s2-{i}", env=env, side=[emu]
                    ),
                )
            if want_s4:
                s = Scenario(
                    "s4",
                    f"4. Distributed, PIWebApi (emulator) → Kafka → QuestDB + "
                    f"Redis, {_label(n, span)}",
                    "naia api --mode distributed + naia "
                    "ingest; POST /api/backfill/start {connectorType: PIWebApi}",
                    expected,
                )

                def s4(i: int) -> Run:
                    with scenarios.distributed(f"s4-{i}", env) as d:
                        return scenarios.end_to_end(
                            d, "PIWebApi", names, *span, expected, 600, side=[emu]
                        )

                self.measure(s, self.plan.runs, s4)

    def e2e_peer(
        self,
        url: str,
        emu: Proc,
        names: list[str],
        span: tuple[datetime, datetime],
        expected: int,
    ) -> None:
        """(c) A new user's command, whole process: the published client's paging loop on
        scenario 2's data (warm pages, like ours), compared with scenario 2's `naia backfill`."""
        if not PEERS_PYTHON.exists():
            self.rep.problems.append(
                "e2e peer: var/compat/bench-peers missing (run scripts/bench.sh)"
            )
            return
        self.log("e2e warm-up: the published client (fills the emulator's cache with its pages)")
        scenarios.peer_command(url, names, *span, expected, "e2e-warm", emu, PEERS_PYTHON, PAGE)
        peer = Scenario(
            "e2e-peer",
            f"2c. Published client's paging loop as a command, PIWebApi (emulator), "
            f"{_label(len(names), span)}",
            "python bench/peer_pidevclub.py … (process start to exit)",
            expected,
        )
        peer.notes.append("osisoft-pidevclub-piwebapi 1.1.5, one stream a request, 1 thread")
        self.measure(
            peer,
            self.plan.runs,
            lambda i: scenarios.peer_command(
                url, names, *span, expected, f"e2e-peer-{i}", emu, PEERS_PYTHON, PAGE
            ),
        )

    def compare_e2e(self) -> None:
        ours, peer = self.rep.find("s2"), self.rep.find("e2e-peer")
        if ours is None or peer is None:
            return
        n, span = self.plan.s2
        self.compare(
            "e2e",
            "End to end: `naia backfill --connector PIWebApi` vs the published client's "
            "paging loop, each a new process",
            f"{_label(n, span)} from the emulator (warm pages), process start to exit; "
            "NAIA also writes DuckDB",
            ours,
            peer,
            "osisoft-pidevclub-piwebapi 1.1.5 (1 thread, per-stream paging, pandas per page)",
        )

    def s3(self) -> None:
        n, span = self.plan.s1
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=False)
        s = Scenario(
            "s3",
            f"3. Distributed, Simulator → Kafka → worker → QuestDB + Redis, {_label(n, span)}",
            "naia api --mode distributed + naia ingest; POST "
            "/api/backfill/start {connectorType: Simulator}; until SELECT count() = "
            f"{expected:,}",
            expected,
        )

        def once(i: int) -> Run:
            with scenarios.distributed(f"s3-{i}") as d:
                return scenarios.end_to_end(d, "Simulator", names, *span, expected, 1200)

        self.measure(s, self.plan.long_runs, once)

    def fetch(self) -> None:
        if not PEERS_PYTHON.exists():
            self.rep.problems.append(
                "fetch peer: var/compat/bench-peers missing (run scripts/bench.sh)"
            )
            return
        n, span = self.plan.fetch
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=True)
        data = f"{_label(n, span)} from the emulator, maxCount {PAGE:,}"
        ours = Scenario(
            "fetch-ours",
            f"Fetch: NAIA PiWebApiSource.read, {_label(n, span)}",
            "python -m bench.fetch_ours …",
            expected,
        )
        peer = Scenario(
            "fetch-peer",
            f"Fetch: osisoft-pidevclub-piwebapi, {_label(n, span)}",
            "python bench/peer_pidevclub.py …",
            expected,
        )
        with scenarios.emulator("fetch") as (url, emu):
            for kind in ("ours", "peer"):
                self.log(f"fetch warm-up: {kind}")
                scenarios.fetch(
                    kind, url, names, *span, expected, f"fetch-warm-{kind}", emu, PEERS_PYTHON, PAGE
                )
            for sc, kind in ((ours, "ours"), (peer, "peer")):

                def once(i: int, kind: str = kind) -> Run:
                    return scenarios.fetch(
                        kind,
                        url,
                        names,
                        *span,
                        expected,
                        f"fetch-{kind}-{i}",
                        emu,
                        PEERS_PYTHON,
                        PAGE,
                    )

                self.measure(sc, self.plan.runs, once)
        self.compare(
            "fetch",
            "Fetch: NAIA's PI Web API connector vs a published client",
            data,
            ours,
            peer,
            "osisoft-pidevclub-piwebapi 1.1.5 (1 thread, per-stream paging)",
        )

    def fleet(self) -> None:
        """(b) 1 vs 2 `naia fetch` against an emulator slowed to a real PI Web API."""
        n, span, chunk = self.plan.fleet
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=True)
        slowed = (
            f"emulator latency {fleet.LATENCY_MS} ms, {fleet.VALUES_PER_S:,} values/s a response"
        )
        found: list[Scenario] = []
        with scenarios.emulator("fleet", env=fleet.emulator_env()) as emulator:
            self.log("fleet warm-up: one unmeasured pass fills the emulator's page cache")
            fleet.run("fleet-warm", 2, emulator, names, span, chunk, expected, 900)
            for k in (1, 2):
                s = Scenario(
                    f"fleet-{k}",
                    f"Fleet: {k} × naia fetch, PIWebApi (slowed emulator) → Kafka → QuestDB, "
                    f"{_label(n, span)}, {chunk} chunks",
                    f"NAIA_ORCHESTRATOR__FETCHERS=fleet naia api + naia ingest + {k} × naia "
                    "fetch; POST …/start; until GET …/fleet outstandingUnits = 0",
                    expected,
                )
                s.notes.append(slowed + "; pages cached after warm-up")

                def once(i: int, k: int = k) -> Run:
                    return fleet.run(
                        f"fleet-{k}-{i}", k, emulator, names, span, chunk, expected, 900
                    )

                self.measure(s, self.plan.runs, once)
                found.append(s)
        self.compare(
            "fleet",
            "Fleet: 2 fetchers vs 1 against a slowed PI Web API",
            f"{_label(n, span)}, {chunk} chunks, {slowed}",
            found[1],
            found[0],
            "1 × naia fetch",
        )

    def ingest(self) -> None:
        n, span = self.plan.ingest
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=False)
        tag = infra.Slice().tag
        arrow_topic, json_topic = f"{tag}.arrow", f"{tag}.json"
        infra.create_topic(arrow_topic, 12)
        infra.create_topic(json_topic, 12)
        try:
            self.log(f"ingest: producing {expected:,} rows as Arrow and as JSON records")
            t0 = time.monotonic()
            datasets.produce_arrow(arrow_topic, names, *span)
            t1 = time.monotonic()
            datasets.produce_json(json_topic, names, *span)
            self.log(f"produced: Arrow {t1 - t0:.1f} s, JSON {time.monotonic() - t1:.1f} s")
            data = f"{_label(n, span)} ({expected:,} rows) already on a 12-partition topic"
            ours = Scenario(
                "ingest-ours",
                f"Ingest: naia ingest (Arrow topic), {_label(n, span)}",
                "naia ingest",
                expected,
            )
            self.measure(
                ours,
                self.plan.runs,
                lambda i: scenarios.ingest_ours(arrow_topic, expected, f"ingest-ours-{i}"),
            )
            res = connect.resolve(ROOT / "var" / "bench" / "connect" / "lib")
            if res.ok:
                self.rep.problems.append(
                    "QuestDB Kafka connector resolved, but its run is not "
                    "wired into this harness yet; used the Python peer"
                )
            else:
                self.rep.problems.append(
                    f"QuestDB Kafka connector (org.questdb:kafka-questdb-connector:"
                    f"{res.connector_version}) not obtainable from Maven Central: {res.error}"
                )
            peer = Scenario(
                "ingest-peer",
                f"Ingest peer: QuestDB Python client row by row (JSON topic), {_label(n, span)}",
                "python -m bench.peer_ilp_rows",
                expected,
            )
            peer.notes.append("stand-in for the QuestDB Kafka connector (not on Maven Central)")
            self.measure(
                peer,
                self.plan.runs,
                lambda i: scenarios.ingest_peer(json_topic, expected, f"ingest-peer-{i}"),
            )
            self.compare(
                "ingest",
                "Ingest: naia ingest vs a Kafka → QuestDB peer",
                data,
                ours,
                peer,
                "QuestDB Python client, row by row from JSON records "
                "(the Kafka connector is not on Maven Central)",
            )
        finally:
            infra.delete_topics([arrow_topic, json_topic])

    def qdb(self) -> None:
        """QuestDB's cost by row order and commit size (no NAIA process: the service alone)."""
        n, span = self.plan.ingest if self.plan.quick else (100, self.plan.span(30))
        names = datasets.points(n)
        for order in ("point", "time"):
            table = questdb_shape.rows(names, *span, order)
            for commit in (100_000, 800_000):
                shape = questdb_shape.measure(table, order, commit)
                self.rep.probes.append(shape.as_dict())
                self.log(f"qdb {order}-major, commit {commit:,}: {shape.as_dict()}")

    def compare(
        self, cid: str, title: str, data: str, ours: Scenario, peer: Scenario, peer_label: str
    ) -> None:
        a, b = ours.rate, peer.rate
        self.rep.comparisons.append(
            {
                "id": cid,
                "title": title,
                "data": data,
                "peer": peer_label,
                "ours": a,
                "theirs": b,
                "ratio": (a / b) if a and b else None,
            }
        )

    def afsdk(self) -> None:
        """AF SDK decode (AFValues → Arrow through pythonnet on Mono, the stand-in of `make
        standin`), bulk against per value: bench/bench_afsdk_decode.py in its own process (one
        CLR per process)."""
        values, runs = (200_000, 1) if self.plan.quick else (1_000_000, 5)
        out = ROOT / "var" / "bench" / "afsdk-decode.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "bench.bench_afsdk_decode", "--values", str(values),
                "--runs", str(runs), "--json", str(out)]  # fmt: skip
        self.log(f"afsdk: {_cmd(argv)}")
        subprocess.run(argv, cwd=ROOT, check=True, timeout=1800)
        result = json.loads(out.read_text())
        ways = result["ways"]
        for peer, label, ratio in (
            ("per-value", "per-value loop (the connector's fallback)", "ratio_to_per_value"),
            ("piconnect", "a loop as PIconnect reads recorded values", "ratio_to_piconnect"),
        ):
            self.rep.comparisons.append(
                {
                    "id": f"afsdk-{peer}",
                    "title": "AF SDK decode: AFValues → Arrow (bulk helper)",
                    "data": result["data"],
                    "peer": label,
                    "ours": ways["bulk"]["values_per_s"],
                    "theirs": ways[peer]["values_per_s"],
                    "ratio": result[ratio],
                }
            )

    def profile(self) -> None:
        exe = profiles.py_spy(PEERS_BIN)
        if exe is None:
            self.rep.problems.append("profiles: py-spy missing in var/compat/bench-peers")
            return
        n, span = self.plan.profile
        names = datasets.points(n)
        out = report.RESULTS
        prefix = "quick-" if self.plan.quick else ""
        work = scenarios.workdir("profile")
        self.log(f"profile: naia backfill, {_label(n, span)}")
        raw = work / "s1.raw"
        argv = scenarios.backfill_argv("Simulator", names, *span, work / "p.duckdb", None)
        profiles.run_profiled(exe, argv, raw, work / "s1.log", {}, 900)
        self._keep_profile(
            raw,
            out / f"{prefix}profile-s1-backfill.txt",
            f"naia backfill, Simulator → DuckDB, {_label(n, span)}",
            "s1 naia backfill",
        )
        self.log(f"profile: distributed, {_label(n, span)}")
        expected = datasets.expected_count(names, *span, realistic=False)
        questdb = infra.service_pids()["questdb"]
        with scenarios.distributed("profile-s3") as d:
            spies = [
                profiles.attach(exe, p, work / f"s3-{p.name.split()[-1]}.raw", work / "spy.log")
                for p in (d.api, d.worker)
            ]
            try:
                with jfr.recording(questdb, work / "s3-questdb.jfr"):
                    scenarios.end_to_end(d, "Simulator", names, *span, expected, 900)
            finally:
                for spy in spies:
                    profiles.finish(spy)
        self._keep_jfr(
            questdb, work / "s3-questdb.jfr", out / f"{prefix}profile-s3-questdb.txt", n, span
        )
        for role in ("api", "ingest"):
            self._keep_profile(
                work / f"s3-{role}.raw",
                out / f"{prefix}profile-s3-{role}.txt",
                f"naia {role} (distributed, Simulator), {_label(n, span)}",
                f"s3 naia {role}",
            )
        shutil.rmtree(work, ignore_errors=True)

    def verify(self) -> None:
        """`naia verify` after `naia backfill`: Simulator at Test 3 size (exact counts without
        values), and PIWebApi against the emulator (a thin read: timestamps only)."""
        n, span = self.plan.verify
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=False)
        self._verify_pair("verify-sim", "Simulator", names, span, expected, None)
        n, span = self.plan.verify_pi
        names = datasets.points(n)
        expected = datasets.expected_count(names, *span, realistic=True)
        with scenarios.emulator("verify-pi") as (url, emulator):
            env = scenarios.piwebapi_env(url)
            self._verify_pair("verify-pi", "PIWebApi", names, span, expected, (env, emulator))

    def _verify_pair(
        self,
        sid: str,
        connector: str,
        names: list[str],
        span: tuple[datetime, datetime],
        expected: int,
        pi: tuple[dict[str, str], scenarios.Proc] | None,
    ) -> None:
        label = _label(len(names), span)
        fill = Scenario(f"{sid}-backfill", f"{connector} backfill, {label}, 30-day chunks",
                        f"naia backfill --connector {connector} …", expected)  # fmt: skip
        check = Scenario(f"{sid}", f"{connector} verify of that backfill",
                         "naia verify <requestId> --db <file>", expected)  # fmt: skip
        self.rep.scenarios += [fill, check]
        env, side = (pi[0], [pi[1]]) if pi else (None, None)
        for i in range(self.plan.runs):
            try:
                a, b = scenarios.backfill_then_verify(
                    connector, names, *span, expected, f"{sid}-{i}", env=env, side=side
                )
            except (BenchError, OSError, RuntimeError) as exc:
                check.error = str(exc).splitlines()[0][:300]
                self.rep.problems.append(f"{sid} run {i + 1}: {str(exc)[:1500]}")
                self.log(f"{sid} run {i + 1} FAILED: {exc}")
                return
            b.extra["ratio_to_backfill"] = round(b.wall_s / a.wall_s, 4)
            b.extra["s_per_million_events"] = round(b.wall_s / (expected / 1e6), 4)
            fill.runs.append(a)
            check.runs.append(b)
            self.log(
                f"{sid} run {i + 1}: backfill {a.wall_s:.1f} s, verify {b.wall_s:.2f} s "
                f"(ratio {b.extra['ratio_to_backfill']:.3f}; "
                f"{b.extra['source_requests']} source requests)"
            )

    def _keep_jfr(
        self, pid: int, recorded: Path, out: Path, n: int, span: tuple[datetime, datetime]
    ) -> None:
        """QuestDB's side of the distributed run: where the server spends its CPU."""
        try:
            stacks = jfr.stacks(jfr.jdk_bin(pid), recorded)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            self.rep.problems.append(f"profile s3 questdb: {exc}")
            return
        title = f"QuestDB server (distributed, Simulator), {_label(n, span)}"
        out.write_text(profiles.summary(stacks, title, "(JFR execution samples, every 10-20 ms)"))
        self.rep.profiles["s3 QuestDB (JFR)"] = profiles.top_of(stacks)

    def _keep_profile(self, raw: Path, out: Path, title: str, key: str) -> None:
        if not raw.exists():
            self.rep.problems.append(f"profile {key}: py-spy wrote nothing")
            return
        out.write_text(profiles.summarise(raw, title))
        self.rep.profiles[key] = profiles.top_entries(raw)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1"
    )
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    plan = Plan(args.quick)
    signal.signal(signal.SIGTERM, _interrupt)
    began, now = time.monotonic(), datetime.now(UTC)
    load0 = machine.load()
    command = "BENCH_QUICK=1 make bench" if plan.quick else "make bench"
    if args.only:
        command += f"  (BENCH_ONLY={args.only})"
    rep = Report(
        {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "quick": plan.quick,
            "machine": machine.machine(),
            "versions": machine.versions(PEERS_PYTHON),
        }
    )
    bench = Bench(plan, rep)
    bench.log(f"load average {load0}; sections {','.join(wanted)}")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("s1", bench.s1),
        ("rss", bench.rss),
        ("scale", bench.scale),
        (
            "s2/s4/e2e/floor",
            lambda: bench.s2_s4("s2" in wanted, "s4" in wanted, "e2e" in wanted, "floor" in wanted),
        ),
        ("fetch", bench.fetch),
        ("fleet", bench.fleet),
        ("s3", bench.s3),
        ("ingest", bench.ingest),
        ("qdb", bench.qdb),
        ("profile", bench.profile),
        ("afsdk", bench.afsdk),
        ("verify", bench.verify),
    ]
    try:
        for name, step in steps:
            if not any(part in wanted for part in name.split("/")):
                continue
            try:
                step()
            except Exception as exc:
                bench.log(f"{name} FAILED: {exc}")
                rep.problems.append(f"{name}: {exc}\n{traceback.format_exc(limit=3)}")
    finally:
        stop_all()
    bench.compare_e2e()
    load1 = machine.load()
    rep.meta["load"] = {
        "start": load0,
        "end": load1,
        "note": "2 cores shared with other work: figures are noisy"
        if max(load0[0], load1[0]) > 1.5
        else "quiet machine",
    }
    rep.meta["duration_s"] = round(time.monotonic() - began, 1)
    report.evaluate(rep)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    path = report.write_json(rep, stamp, plan.quick, partial=bool(args.only))
    bench.log(f"results: {path}")
    if not plan.quick and not args.no_docs and not args.only:
        report.update_doc(rep)
        bench.log(f"table regenerated in {report.DOC}")
    print(report.markdown(rep))
    return 1 if rep.problems and not any(s.runs for s in rep.scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())

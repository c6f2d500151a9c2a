"""``make chaos``: randomized fault trials on private real services; writes docs/reliability.md.

    python -m tests.chaos [--trials 30] [--seed N] [--only 3,17] [--report docs/reliability.md]

Each trial runs a distributed backfill (Simulator) and, at a random moment of it, kill -9s or
SIGSTOPs (then SIGCONTs) one of: the API, the worker, the Kafka broker, QuestDB, Redis, for an
outage of tens of seconds. Then it checks the count, duplicates, per-point sums against the
Simulator, the Redis latest values, and that every process still serves. The seed is printed;
``--seed N --only K`` reruns trial K exactly as it ran (same kind, moment, outage, points).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.cluster import PORTS, Cluster
from tests.chaos.report import write_report
from tests.chaos.trial import KINDS, Sizing, Trial, TrialResult, plan

ROOT = Path(__file__).resolve().parents[2]
RATE_LIMIT_VALUES_PER_S = 15_000.0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--trials", type=int, default=30, help="number of trials [30]")
    parser.add_argument("--seed", type=int, default=None, help="seed [random, printed]")
    parser.add_argument("--only", default="", help="comma-separated trial numbers to run")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--work", type=Path, default=None, help="data dir [a new temp dir]")
    return parser.parse_args()


def main() -> int:
    args = _parse()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    numbers = (
        [int(n) for n in args.only.split(",") if n.strip()] if args.only else range(args.trials)
    )
    print(f"chaos: seed {seed}; rerun with --seed {seed} (--only N for one trial)", flush=True)
    ports = f"ports {min(PORTS.values())}-{max(PORTS.values())}"
    print(f"chaos: {len(list(numbers))} trials over {len(KINDS)} kinds; {ports}", flush=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="naia-chaos-"))
    print(f"chaos: data and logs under {work}", flush=True)
    sizing = Sizing()
    cluster = Cluster(work, RATE_LIMIT_VALUES_PER_S)
    results: list[TrialResult] = []
    log: list[str] = []
    began = time.monotonic()
    try:
        cluster.up()
        for number in numbers:
            results.append(Trial(cluster, plan(seed, number, sizing), log).run())
    finally:
        cluster.down()
    elapsed = time.monotonic() - began
    write_report(args.report, seed, sizing, results, elapsed, cluster, RATE_LIMIT_VALUES_PER_S)
    failed = [r for r in results if not r.passed]
    print(
        f"chaos: {len(results) - len(failed)}/{len(results)} trials passed in {elapsed:.0f}s; "
        f"seed {seed}; report {args.report}; logs {work}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

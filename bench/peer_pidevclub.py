"""Child process (peers venv): the published PI Web API client reads points × range; prints JSON.

``python bench/peer_pidevclub.py URL SERVER POINTS START END PAGE``

Uses ``osisoft-pidevclub-piwebapi`` as its README shows: ``PIWebApiClient(url, useKerberos=False,
username, password, verifySsl)``, WebIDs from ``client.point.get_by_path``, recorded values from
``client.stream.get_recorded(web_id, start_time, end_time, max_count)``, each page turned into a
pandas DataFrame with parsed timestamps (the client returns them as strings). Paging is
count-based and correct: a page of exactly ``max_count`` values means "maybe more", so the next
page starts at the last timestamp and skips the events already taken there. Values at the end
time (``boundaryType=Inside`` returns them) are dropped, so the windows are half-open like NAIA's.
Measured around the reads only (imports excluded).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def read_point(client: Any, pd: Any, web_id: str, start: str, end: str, page: int) -> int:
    """Every value of one point in [start, end), page by page; returns how many."""
    total = 0
    end_ts = pd.Timestamp(end)
    cursor, skip = start, 0
    while True:
        items = (
            client.stream.get_recorded(
                web_id, start_time=cursor, end_time=end, max_count=page
            ).items
            or []
        )
        full = len(items) == page
        kept = items[skip:]
        if kept:
            frame = pd.DataFrame(
                {
                    "Timestamp": [i.timestamp for i in kept],
                    "Value": [i.value for i in kept],
                    "Good": [i.good for i in kept],
                    "Questionable": [i.questionable for i in kept],
                    "Substituted": [i.substituted for i in kept],
                }
            )
            frame["Timestamp"] = pd.to_datetime(frame["Timestamp"], format="ISO8601", utc=True)
            frame = frame[frame["Timestamp"] < end_ts]  # half-open: values at `end` are dropped
            total += len(frame)
        if not full:
            return total
        last = items[-1].timestamp
        # the next page starts at `last` and repeats every event at `last` this page returned
        # (including any skipped because an earlier page had them): skip exactly those
        skip = sum(1 for i in items if i.timestamp == last)
        if skip >= page:
            raise RuntimeError(f"more than {page} events at {last}: raise the page size")
        cursor = last


def hwm_mb() -> float:
    """VmHWM of this process (ru_maxrss would include the parent's RSS at fork). A copy of
    ``bench.procs.hwm_kb``'s reading: this script runs alone in the peers' venv."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str]) -> None:
    url, server, names, start, end, page = argv
    import pandas as pd  # type: ignore[import-untyped]
    from osisoft.pidevclub.piwebapi.pi_web_api_client import (  # type: ignore[import-untyped]
        PIWebApiClient,
    )

    client = PIWebApiClient(
        url, useKerberos=False, username="bench", password="bench", verifySsl=False
    )
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    values = 0
    for name in names.split(","):
        web_id = client.point.get_by_path(f"\\\\{server}\\{name}").web_id
        values += read_point(client, pd, web_id, start, end, int(page))
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    print(json.dumps({"values": values, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": hwm_mb()}))


if __name__ == "__main__":
    main(sys.argv[1:])

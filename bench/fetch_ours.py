"""Child process: NAIA's PiWebApiSource reads points × range from a PI Web API; prints JSON.

``python -m bench.fetch_ours URL SERVER POINTS START END`` — POINTS comma-separated, times ISO.
Prints ``{"values", "wall_s", "cpu_s", "peak_rss_mb"}`` measured around ``read`` only (imports
and start-up excluded), with the connector's default settings (page 10,000, 10 streams per
request, 4 requests in flight).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import datetime

from bench.procs import hwm_kb


def main(argv: list[str]) -> None:
    url, server, names, start, end = argv
    from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource

    source = PiWebApiSource(PiWebApiSettings(base_url=url, data_archive=server))
    points = names.split(",")
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    values = 0
    with source:
        for batch in source.read(
            points, datetime.fromisoformat(start), datetime.fromisoformat(end)
        ):
            values += batch.num_rows
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    print(
        json.dumps(
            {
                "values": values,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": hwm_kb(os.getpid()) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])

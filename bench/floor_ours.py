"""Child process: the CPU of each part `naia backfill --connector PIWebApi` cannot do without.

``python -m bench.floor_ours URL SERVER POINTS START END DB`` — POINTS comma-separated, times
ISO. Prints ``{"values", "cpu_s": {part: seconds}}``, each part measured by this process's
rusage (every thread) around it alone, in the order the command meets them:

- ``imports_third_party``: the libraries the command needs (DuckDB, Arrow, NumPy, httpx,
  pydantic-settings, Typer, Rich), imported as the command does, the cyclic GC off;
- ``imports_naia``: NAIA's own modules on top (the command's whole import);
- ``fetch``: `PiWebApiSource.read` of the request, batches kept in memory (read + decode);
- ``insert``: `DuckDbStore.write_chunk` of those batches into a new file with the app's
  `store.memory_limit`, and its close (the CHECKPOINT): the store's conversion to its compact
  rows and DuckDB's insert, no source running.

The command itself overlaps fetch and insert in threads; its CPU measured close to the sum
(docs/performance.md, session of 2026-12-07).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
from datetime import datetime
from pathlib import Path


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: list[str]) -> None:
    url, server, names, start, end, db = argv
    parts: dict[str, float] = {}
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as naia.cli.entry does
    gc.disable()  # as naia.cli.entry imports
    t = _cpu()
    import duckdb  # noqa: F401
    import httpx  # noqa: F401
    import numpy  # noqa: F401
    import pyarrow  # noqa: F401
    import pydantic_settings  # noqa: F401
    import rich.progress  # noqa: F401
    import typer  # noqa: F401

    parts["imports_third_party"], t = _cpu() - t, _cpu()
    import naia.cli.main  # noqa: F401
    from naia.app.settings import NaiaSettings
    from naia.domain.model import Chunk
    from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource
    from naia.stores.duckdb import DuckDbStore

    parts["imports_naia"], t = _cpu() - t, _cpu()
    gc.freeze()
    gc.enable()
    points = names.split(",")
    start_at, end_at = datetime.fromisoformat(start), datetime.fromisoformat(end)
    source = PiWebApiSource(PiWebApiSettings(base_url=url, data_archive=server))
    with source:
        batches = list(source.read(points, start_at, end_at))
    parts["fetch"], t = _cpu() - t, _cpu()
    store = DuckDbStore(Path(db), memory_limit=NaiaSettings().store.memory_limit)
    chunk = Chunk("floor", 0, tuple(points), start_at, end_at)
    written = store.write_chunk(chunk, batches)
    store.close()
    parts["insert"] = _cpu() - t
    print(json.dumps({"values": written.values, "cpu_s": parts}))


if __name__ == "__main__":
    main(sys.argv[1:])

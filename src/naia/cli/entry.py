"""The ``naia`` console script: the modules load without the cyclic GC, then the command runs.

Importing NAIA and its libraries leaves ~120,000 objects to the GC; the cyclic collector,
run every 700 allocations, walks them again and again while they load. It is off while they
load; then ``gc.freeze()`` moves everything they made out of its sight, so the collections of
the command itself walk only what the command allocates (docs/performance.md,
session of 2026-12-06 21:20: `import naia.cli.main` 1.47–1.90 → 1.03–1.58 CPU s).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable


def load() -> Callable[[], object]:
    """The Typer app, imported with the GC off and its objects frozen after."""
    # numpy's OpenBLAS starts a thread per core that spins after use; NAIA does no linear algebra
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    enabled = gc.isenabled()
    gc.disable()
    try:
        from naia.cli.main import app
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
    return app


def main() -> None:
    load()()

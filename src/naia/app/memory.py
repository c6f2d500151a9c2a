"""Process-wide memory policy of every NAIA process.

Arrow's default pool (mimalloc in these wheels) keeps freed pages for reuse; with a new batch
every few milliseconds a process holds tens of MB more than it uses. The system allocator gives
them back at once, for no measurable loss of speed here (docs/performance.md), so peak RSS
follows the data in flight, not the allocator's history.
"""

from __future__ import annotations

import pyarrow as pa


def bound_memory() -> None:
    """Make Arrow allocate through the system allocator (idempotent)."""
    pool = pa.system_memory_pool()
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)

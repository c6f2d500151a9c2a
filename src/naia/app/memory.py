"""Process-wide memory policy of every NAIA process.

Two allocator settings keep peak RSS following the data in flight, not the allocators' history
(measured in docs/performance.md, for no loss of speed there):

- Arrow's default pool (mimalloc in these wheels) keeps freed pages for reuse; with a new batch
  every few milliseconds a process holds tens of MB more than it uses. Arrow goes through the
  system allocator instead.
- glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after
  which buffers of a few MB — ILP buffers, Arrow columns, HTTP bodies — come from the heap, and
  a fragmented heap is not given back. A fixed threshold of 1 MiB keeps every large buffer in
  its own mapping, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import platform

import pyarrow as pa

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def bound_memory() -> None:
    """Apply both settings (idempotent; the glibc one only where glibc is the C library)."""
    pa.set_memory_pool(pa.system_memory_pool())
    if platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)

"""Cut a sequence into consecutive groups of at most ``size`` items."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def groups(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items[0:size]``, ``items[size:2·size]``…; ``size`` must be ≥ 1."""
    if size < 1:
        raise ValueError(f"group size must be at least 1, got {size}")
    for i in range(0, len(items), size):
        yield items[i : i + size]

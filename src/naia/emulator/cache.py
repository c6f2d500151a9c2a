"""A byte-bounded LRU for rendered, deterministic page fragments."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ByteLru:
    """Keeps the most recently used values while their total size stays under ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._size = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self._max:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._items[key] = value
        self._size += len(value)
        while self._size > self._max:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)

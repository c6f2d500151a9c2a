"""The stand-in's archive, reset before and after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.clr.standin import archive


@pytest.fixture
def pi_archive() -> Iterator[Any]:
    store = archive()
    store.Reset()
    yield store
    store.Reset()

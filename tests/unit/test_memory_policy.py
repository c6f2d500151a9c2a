"""Every NAIA process allocates Arrow memory through the system allocator."""

import pyarrow as pa

from naia.app.memory import bound_memory


def test_bound_memory_switches_arrow_to_the_system_pool_once() -> None:
    before = pa.default_memory_pool()
    try:
        bound_memory()
        bound_memory()
        assert pa.default_memory_pool().backend_name == "system"
        table = pa.table({"x": list(range(1000))})
        assert table.column("x").to_pylist()[-1] == 999
    finally:
        pa.set_memory_pool(before)

"""DuckDB embedded store: point_data, checkpoints and request records in one file."""

from naia.stores.duckdb.store import DuckDbStore

__all__ = ["DuckDbStore"]

"""Store adapters: where the orchestrator writes chunks and keeps request state (ChunkWriter +
StateStore): DuckDB (embedded), Kafka (distributed). The in-memory double is in tests/doubles."""

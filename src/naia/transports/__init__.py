"""Transport adapters: how batches travel from the orchestrator to the stores.

Embedded mode writes in-process (the DuckDB store is the ChunkWriter); distributed mode publishes
to Kafka (``naia.transports.kafka``).
"""

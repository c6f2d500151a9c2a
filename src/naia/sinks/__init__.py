"""Sink adapters: one technology each (DuckDB embedded store, in-memory; QuestDB, Redis)."""

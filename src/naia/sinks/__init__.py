"""Ingest sink adapters: where the ingestion worker writes what it reads from Kafka.

QuestDB (point_data) and Redis (latest value per point).
"""

"""Kafka: topics, the transactional chunk writer, request/checkpoint state, the ingest inbox."""

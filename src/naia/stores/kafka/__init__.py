"""Kafka store: the transactional chunk writer and the compacted request/checkpoint topics."""

"""Ingestion: the worker that moves messages from an Inbox into Sinks (commit after flush)."""

from naia.ingestion.worker import IngestionWorker, WorkerStats

__all__ = ["IngestionWorker", "WorkerStats"]

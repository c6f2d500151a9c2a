"""Shared plumbing with no technology in it: backoff, token bucket, bounded thread pump, groups.

Used alike by the orchestrator and the adapters, so each mechanism is written once.
"""

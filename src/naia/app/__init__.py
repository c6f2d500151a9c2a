"""App wiring and settings: the only place that picks concrete adapters."""

"""Domain layer: batch schema, time ranges, work units, progress, ports and errors."""

"""Domain layer: batch schema, time ranges, chunks, progress, ports and errors."""

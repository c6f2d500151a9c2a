"""State adapters: where request records and checkpoints live outside the embedded store."""

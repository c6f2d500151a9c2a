"""NAIA: backfill PI historian data into a time-series store, resumable and exactly once."""

__version__ = "0.1.0"

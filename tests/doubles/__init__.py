"""Test doubles: in-memory fakes of the ports, used by unit tests only."""

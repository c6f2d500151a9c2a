"""Test doubles: in-memory fakes of the ports, and stand-ins for systems NAIA talks to (the PI
AF SDK, in Python and compiled C#), used by tests only."""

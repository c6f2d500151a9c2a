"""Test doubles: stand-ins for systems NAIA talks to (the PI AF SDK, in Python and in C#)."""

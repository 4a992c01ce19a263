"""The report tests use the session's demo and real-data runs (tests/conftest.py)."""

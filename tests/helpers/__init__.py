"""Plain helper functions and constants of the tests (fixtures live in the conftest.py files)."""

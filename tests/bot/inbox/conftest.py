"""Fixtures for the inbox tests live in inbox_helpers.py (a unique module name, so test folders never clash)."""
from inbox_helpers import database_url, make_settings, sqlite_url  # noqa: F401  (pytest fixtures)

"""Fixtures for the inbox tests live in inbox_helpers.py (shared with the test modules)."""

from tests.services.inbox.inbox_helpers import database_url, make_settings, sqlite_url  # noqa: F401  (pytest fixtures)

"""Outbox databases and a real loopback receiver, shared with the deliverer's tests (tests/handoff_fixtures.py)."""

from tests.handoff_fixtures import database_url, receiver  # noqa: F401 - pytest fixtures

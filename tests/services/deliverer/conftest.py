"""Outbox databases and a real loopback receiver, shared with the deliverer's tests (tests/handoff_fixtures.py),
and the notification tests' loopback SMTP server and Twilio stand-in (notify_servers.py)."""

import pytest

from tests.handoff_fixtures import database_url, receiver  # noqa: F401 - pytest fixtures
from tests.services.deliverer.notify_servers import SmtpServer, TwilioStandIn


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def twilio():
    server = TwilioStandIn().start()
    yield server
    server.close()

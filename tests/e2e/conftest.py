from __future__ import annotations

import pytest

from tests.e2e.stack import SECRET, TWILIO_AUTH_TOKEN, Receiver
from tests.e2e.stack_helpers import MODEL, running_stack
from tests.twilio_standin import TWILIO_SID, TwilioStandIn

__all__ = ["MODEL"]  # the e2e modules' name for the trained model (tests/e2e/stack_helpers.py)


# Staff notifications by SMS go to a loopback stand-in for Twilio's API (docs/notifications.md).
STAFF_PHONE = "+18185550100"
INBOX_PUBLIC_URL = "https://staff.haven.example"


@pytest.fixture(scope="session")
def staff_sms():
    server = TwilioStandIn(auth_token=TWILIO_AUTH_TOKEN).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, staff_sms: TwilioStandIn):
    extra_env = {
        "ALERT_SMS_TO": STAFF_PHONE,
        "ALERT_SMS_FROM": "+18185550199",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_API_BASE": staff_sms.base,
        "INBOX_PUBLIC_URL": INBOX_PUBLIC_URL,
    }
    with running_stack(tmp_path_factory.mktemp("stack-data"), Receiver(SECRET), extra_env) as running:
        yield running

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stack import SECRET, TWILIO_AUTH_TOKEN, Receiver, Stack, free_port
from tests.twilio_standin import TWILIO_SID, TwilioStandIn

MODEL = Path(__file__).resolve().parents[2] / "models" / "current.tar.gz"


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
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it first)")
    receiver = Receiver(SECRET)
    receiver.start()
    data_dir = tmp_path_factory.mktemp("stack-data")
    running = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        inbox_port=free_port(),
        data_dir=data_dir,
        receiver=receiver,
        log_path=data_dir / "stack.log",
        extra_env={
            "ALERT_SMS_TO": STAFF_PHONE,
            "ALERT_SMS_FROM": "+18185550199",
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_API_BASE": staff_sms.base,
            "INBOX_PUBLIC_URL": INBOX_PUBLIC_URL,
        },
    )
    running.start()
    yield running
    running.stop()
    receiver.stop()

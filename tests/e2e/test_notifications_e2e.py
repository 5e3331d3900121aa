"""End to end: a risk message over the REST channel reaches on-call staff as an SMS (through the loopback
Twilio stand-in) that links to the alert and carries none of the visitor's words (docs/notifications.md)."""

from __future__ import annotations

import time

from tests.e2e.conftest import INBOX_PUBLIC_URL, STAFF_PHONE
from tests.e2e.visitor import Visitor

# Written for this test, not taken from the lexicon or the training data.
RISK_TEXT = "honestly i've got the pills saved up and i think tonight is the night"


def test_a_crisis_alert_texts_on_call_staff_a_link_without_health_information(stack, staff_sms):
    visitor = Visitor(stack.say, {})
    reply = " ".join(m.get("text") or "" for m in visitor.send(RISK_TEXT))
    assert "988" in reply
    [alert] = stack.receiver.wait_for(visitor.sender, "crisis.alert")
    link = f"{INBOX_PUBLIC_URL}/alerts/{alert.event['id']}"
    deadline = time.monotonic() + 30
    while not any(link in sms.body for sms in staff_sms.messages()):
        assert time.monotonic() < deadline, "no staff SMS for the alert"
        time.sleep(0.1)
    [sms] = [sms for sms in staff_sms.messages() if link in sms.body]
    assert sms.to == STAFF_PHONE and sms.sender == "+18185550199"
    assert sms.body.startswith("Haven Pre-Screen: urgent: a new crisis alert")
    for secret in (RISK_TEXT, "pills", visitor.sender, alert.event["severity"], *alert.event["categories"]):
        assert secret not in sms.body

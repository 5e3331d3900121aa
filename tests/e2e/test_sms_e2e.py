"""End to end over SMS: Twilio-signed form posts to the running stack's /webhooks/sms/webhook, TwiML back."""

from __future__ import annotations

import threading
import time

import pytest

from bot.handoff.signing import SIGNATURE_HEADER, sign
from bot.screening.answers import format_us_phone
from tests.e2e.sms_phone import Phone, asked
from tests.e2e.sms_phone import sign as twilio_sign
from tests.e2e.stack import SECRET

# Typed on a phone: the numbers the numbered lists show, or the words.
QUALIFIED_TEXTER = {
    "consent": "1",
    "concern": "1",  # Anxiety
    "age": "34",
    "gad7": "4",  # Nearly every day
    "phq9": "3",  # More than half the days
    "phq9_9": "1",  # Not at all
    "tx": "2",  # No
    "tx_antidepressants": "2 or more",
    "tx_current_meds": "sertraline 100 mg",
    "ci": "2",  # No
    "ci_checklist": "1",  # None of these (the checklist's own numbers)
    "contact_first_name": "Maria",
    "contact_phone_known": "1",  # Yes, this number
    "contact_email": "maria@example.com",
    "contact_method": "Text",
    "contact_best_time": "morning",
    "contact_consent": "yes",
}


def answer_for(persona, qid):
    if qid in persona:
        return persona[qid]
    return persona[qid.split("_")[0]]


def run_screening(phone: Phone, persona, first: str = "hi", max_turns: int = 80):
    messages = phone.send(first)
    for _ in range(max_turns):
        qid = asked(phone, messages)
        if qid is None:
            return messages
        messages = phone.send(answer_for(persona, qid))
    raise AssertionError(f"the SMS screening did not end: {phone.transcript[-4:]}")


def test_a_typed_sms_screening_ends_in_a_signed_lead_with_the_senders_number(stack):
    phone = Phone(stack)
    first = phone.send("hi")
    joined = "\n".join(first)
    assert "988" in joined and "911" in joined
    assert joined.endswith("Reply 1 for Yes or 2 for No.")
    assert all(len(m) <= 1600 for m in first)
    last = run_screening(phone, QUALIFIED_TEXTER, first="1")
    assert "Maria" in " ".join(last)
    confirm = [reply for sent, reply in phone.transcript if asked(phone, reply) == "contact_phone_known"]
    assert confirm and f"Is {format_us_phone(phone.number)} the best number to reach you?" in confirm[0][-1]
    assert all(asked(phone, reply) != "contact_phone" for _, reply in phone.transcript)  # confirmed, not asked

    sender = phone.sender_id()
    assert sender.startswith("sms:") and phone.number[2:] not in sender
    received = stack.receiver.wait_for(sender, "lead.created")
    assert len(received) == 1, phone.transcript[-3:]
    assert received[0].signature_ok and received[0].headers[SIGNATURE_HEADER] == sign(received[0].body, SECRET)
    event = received[0].event
    assert event["channel"] == "sms"
    assert event["lead"]["outcome"] == "qualified"
    assert event["lead"]["contact"]["phone"] == phone.number
    assert event["lead"]["contact"]["preferred_method"] == "text"
    assert event["lead"]["scores"]["gad7"] == 21
    assert event["lead"]["scores"]["phq9"] == 8 * 2  # "3" was shown as "3 for More than half the days"
    # The number is in the lead, and in no log line of any process.
    assert phone.number[2:] not in stack.log_path.read_text()


def test_no_asks_for_the_number_as_on_the_web(stack):
    phone = Phone(stack)
    persona = {**QUALIFIED_TEXTER, "contact_phone_known": "no", "contact_phone": "(818) 555-0199"}
    run_screening(phone, persona)
    asked_ids = [asked(phone, reply) for _, reply in phone.transcript]
    assert asked_ids.index("contact_phone_known") < asked_ids.index("contact_phone")
    (lead,) = stack.receiver.wait_for(phone.sender_id(), "lead.created")
    assert lead.event["lead"]["contact"]["phone"] == "+18185550199"


def test_unsigned_and_badly_signed_posts_are_refused_and_nothing_is_processed(stack):
    phone = Phone(stack)
    fields = phone.fields("hi")
    assert phone.post(fields, signature=None).status == 403  # missing
    assert phone.post(fields, signature="bm90IGEgc2lnbmF0dXJl").status == 403  # wrong
    loopback = twilio_sign(fields, url=phone.url)  # signed for the address behind the proxy, not PUBLIC_URL
    assert phone.post(fields, signature=loopback).status == 403
    tampered = phone.fields("STOP", sid=fields["MessageSid"])
    assert phone.post(tampered, signature=twilio_sign(fields)).status == 403  # body changed after signing
    other_token = twilio_sign(fields, token="not-the-clinics-token")
    assert phone.post(fields, signature=other_token).status == 403
    # None of them reached the conversation: the first signed message still gets the greeting, and a
    # refused STOP opted nobody out.
    joined = "\n".join(phone.send("hi"))
    assert "pre-screening helper" in joined and "988" in joined


def test_stop_then_silence_then_start(stack):
    phone = Phone(stack)
    assert asked(phone, phone.send("hi")) == "consent"
    stopped = phone.send("STOP")
    assert len(stopped) == 1 and "unsubscribed" in stopped[0] and "START" in stopped[0]
    assert phone.send("how much does it cost?") == []
    assert phone.send("Yes please") == []
    assert phone.send("stop") == []  # no second confirmation
    started = phone.send("START")
    assert len(started) == 1 and "subscribed again" in started[0]
    again = phone.send("hi")
    assert asked(phone, again) == "consent" and "pre-screening helper" in "\n".join(again)  # a new conversation


def test_twilio_handled_opt_out_is_recorded_and_not_answered_twice(stack):
    phone = Phone(stack)
    assert phone.send("STOP", OptOutType="STOP") == []
    assert phone.send("hi") == []
    assert phone.send("START", OptOutType="START") == []
    assert asked(phone, phone.send("hi")) == "consent"


def test_help(stack):
    phone = Phone(stack)
    (reply,) = phone.send("HELP")
    for needed in ("Haven Ketamine Clinic", "(818) 555-0134", "STOP", "Msg & data rates may apply", "988"):
        assert needed in reply, reply


def test_a_retried_message_sid_gets_the_first_reply_and_is_not_processed_twice(stack):
    phone = Phone(stack)
    phone.send("hi")
    fields = phone.fields("1")  # Yes to consent
    first = phone.post(fields)
    retry = phone.post(fields)
    assert first.status == retry.status == 200 and retry.body == first.body
    assert asked(phone, first.messages) == "age"
    # Had the retry been processed, "1" would have answered the age question too (and ended it: a minor).
    assert asked(phone, phone.send("34")) == "concern"

    # A retry arriving while the first delivery is still being processed waits for it.
    fields = phone.fields("Anxiety")
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(phone.post(fields))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert len(replies) == 3 and len({r.body for r in replies}) == 1, [r.body for r in replies]
    assert asked(phone, replies[0].messages) == "gad7_1"
    assert asked(phone, phone.send("1")) == "gad7_2"


RISK_TEXT = "been planning how to end things, got the rope already"


@pytest.mark.parametrize("before", [[], ["hi", "1"]])
def test_a_risk_text_gets_988_first_and_a_signed_alert_with_the_number(stack, before):
    phone = Phone(stack)
    for text in before:
        phone.send(text)
    messages = phone.send(RISK_TEXT)
    assert "988" in messages[0] and "911" in "\n".join(messages), messages
    assert all(len(m) <= 1600 for m in messages)
    deadline, alerts = time.monotonic() + 20, []
    while time.monotonic() < deadline and not alerts:
        alerts = stack.receiver.events(phone.sender_id(), "crisis.alert")
        time.sleep(0.2)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.signature_ok and alert.headers[SIGNATURE_HEADER] == sign(alert.body, SECRET)
    assert alert.event["channel"] == "sms"
    assert alert.event["contact"]["phone"] == phone.number
    assert alert.event["message"] == RISK_TEXT

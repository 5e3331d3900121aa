"""End to end over the REST channel: whole screenings, clicked and typed, and the signed leads they send."""

from __future__ import annotations

import json
import time

import pytest

from bot.handoff.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from tests.e2e.personas import NOT_ELIGIBLE_TYPIST, QUALIFIED_CLICKER, SUB_THRESHOLD_REVIEW
from tests.e2e.stack import SECRET
from tests.e2e.visitor import Visitor, asked, buttons


def test_qualified_adult_clicking_gets_a_signed_lead(stack):
    visitor = Visitor(stack.say, QUALIFIED_CLICKER)
    first = visitor.send("hi")
    texts = " ".join(m.get("text") or "" for m in first)
    assert "988" in texts and "911" in texts, texts
    assert asked(first) == "consent"
    assert [b["payload"] for b in buttons(first)] == ["Yes", "No"]
    visitor.run(first="Yes")
    received = stack.receiver.wait_for(visitor.sender, "lead.created")
    assert len(received) == 1, visitor.transcript[-3:]
    lead_event = received[0]
    assert lead_event.signature_ok
    assert lead_event.headers[SIGNATURE_HEADER] == sign(lead_event.body, SECRET)
    assert lead_event.headers[IDEMPOTENCY_HEADER] == lead_event.event["id"]
    event = lead_event.event
    assert event["channel"] == "rest"
    lead = event["lead"]
    assert lead["outcome"] == "qualified"
    assert lead["contact"]["phone"] == "+18185550134"
    assert lead["contact"]["first_name"] == "Maria"
    assert lead["scores"]["gad7"] == 21
    assert lead["crisis"]["flagged"] is False


def test_not_eligible_adult_typing_gets_a_not_eligible_lead_with_consent(stack):
    visitor = Visitor(stack.say, NOT_ELIGIBLE_TYPIST)
    visitor.run()
    received = stack.receiver.wait_for(visitor.sender, "lead.created")
    assert len(received) == 1, visitor.transcript[-3:]
    assert received[0].signature_ok
    lead = received[0].event["lead"]
    assert lead["outcome"] == "not_eligible"
    assert lead["concern"] == "ptsd"
    assert lead["contact"]["phone"] == "+18185550199"
    assert "pcptsd5" in lead["scores"]
    # Each "3" was asked about first, then meant "3 for More than half the days" of the numbered re-ask.
    assert lead["scores"]["gad7"] == 7 * 2, visitor.transcript[:12]
    reasks = [reply for sent, reply in visitor.transcript if sent == "3" and reply and reply[0]]
    assert sum(1 for reply in reasks if reply[0].startswith("Which one did you mean? Reply 1 for Not at all")) == 7
    pregnancy = [c for c in lead["contraindications"] if c["id"] == "ci_pregnancy"]
    assert pregnancy and pregnancy[0]["answer"] == "yes"


def test_minor_is_told_kindly_and_no_lead_is_sent(stack):
    # No "concern" in the persona: were the main concern (or any health question) asked, the visitor fails.
    visitor = Visitor(stack.say, {"consent": "Yes", "age": "16"})
    last = visitor.run()
    assert asked(last) is None
    assert [text for text, _ in visitor.transcript] == ["hi", "Yes", "16"]
    assert any("adult" in (m.get("text") or "").lower() for m in last), last
    after = visitor.send("hello?")
    assert asked(after) is None
    time.sleep(2.0)
    assert stack.receiver.events(visitor.sender) == []


def test_declining_consent_ends_politely_without_health_questions(stack):
    visitor = Visitor(stack.say, {"consent": "No"})
    last = visitor.run()
    assert asked(last) is None
    assert stack.receiver.events(visitor.sender) == []


def test_clinic_question_mid_screening_is_answered_then_the_same_question_asked_again(stack):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    messages = visitor.send("Yes")
    assert asked(messages) == "age"
    messages = visitor.send("how much does it cost?")
    assert asked(messages) == "age"
    assert "$" in " ".join(m.get("text") or "" for m in messages)


@pytest.mark.parametrize("reply", ["3", "hardly ever", "almost never"])
def test_a_typed_number_or_vague_word_is_asked_about_never_scored(stack, reply):
    visitor = Visitor(stack.say, {"consent": "Yes", "concern": "Depression", "age": "40"})
    visitor.send("hi")
    for text in ("Yes", "40"):
        visitor.send(text)
    messages = visitor.send("Depression")
    assert asked(messages) == "gad7_1"
    assert messages[-1]["text"].startswith("Over the last 2 weeks, how often have you been bothered by feeling")
    messages = visitor.send(reply)
    assert asked(messages) == "gad7_1", messages  # the same item again, nothing recorded
    assert (
        messages[0]["text"].startswith("Which one did you mean?") or "Reply 1 for Not at all" in (messages[0]["text"])
    ), messages
    assert all("numbered_options" not in m for m in messages)  # the marker stays in the tracker
    messages = visitor.send("2")  # in reply to the numbered list: 2 for Several days
    assert asked(messages) == "gad7_2", messages


@pytest.mark.parametrize("reply", ["quite a bit", "quite"])
def test_an_amount_read_as_stop_is_asked_about_and_stop_still_stops(stack, reply):
    # Issue 14: the trained model reads "quite a bit" as `stop`; it ended the screening at GAD-7.
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    for text in ("Yes", "40"):
        visitor.send(text)
    assert asked(visitor.send("Depression")) == "gad7_1"
    messages = visitor.send(reply)
    assert asked(messages) == "gad7_1", messages  # the same item again, not the stop message
    assert "Reply 1 for Not at all" in " ".join(m.get("text") or "" for m in messages), messages
    messages = visitor.send("I want to stop")
    assert asked(messages) is None, messages


def test_are_you_a_bot_mid_screening_gets_the_plain_answer_then_the_same_question(stack):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    assert asked(visitor.send("Yes")) == "age"
    messages = visitor.send("are you a bot?")
    assert "not a person" in messages[0]["text"] and "988" in messages[0]["text"], messages
    assert asked(messages) == "age", messages


def test_are_you_a_bot_as_the_first_message_gets_only_the_plain_answer(stack):
    visitor = Visitor(stack.say, {})
    messages = visitor.send("am I talking to a real person or a computer?")
    assert len(messages) == 1 and "not a person" in messages[0]["text"], messages
    assert asked(visitor.send("hi")) == "consent"


def test_unusable_reply_reasks_with_guidance(stack):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    visitor.send("Yes")
    messages = visitor.send("banana")
    assert asked(messages) == "age"
    assert len(messages) >= 2  # guidance, then the question again


@pytest.mark.parametrize("payload", ["/affirm", '/inform{"age": 30}', '/affirm{"consent": true}', "/stop"])
def test_typed_intent_payloads_never_answer_or_skip_a_question(stack, payload):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    visitor.send("Yes")
    messages = visitor.send(payload)
    # Either re-asked (not an answer) or, for "/stop", stopped: never the next question.
    if payload == "/stop":
        assert asked(messages) is None
    else:
        assert asked(messages) == "age", messages


def test_sub_threshold_visitor_with_failed_treatments_and_past_only_experiences_goes_to_review(stack):
    visitor = Visitor(stack.say, SUB_THRESHOLD_REVIEW)
    visitor.run()
    received = stack.receiver.wait_for(visitor.sender, "lead.created")
    assert len(received) == 1, visitor.transcript[-3:]
    lead = received[0].event["lead"]
    assert lead["outcome"] == "needs_review"
    assert lead["scores"] == {"gad7": 7, "phq9": 0}
    reasons = {r["id"] for r in lead["reasons"]}
    assert {"treatment_resistant_history", "relative_ci_past_psychosis", "relative_interacting_medication"} <= reasons
    medicine = next(c for c in lead["contraindications"] if c["id"] == "interacting_medication")
    assert medicine["answer"] == "yes" and "stimulant" in medicine["label"]
    checklist = next(a for a in lead["answers"] if a["id"] == "ci_checklist")
    assert checklist["value"] == ["ci_past_psychosis"]
    # The count: 3 intake, 16 items, 3 history, 8 health questions and the checklist, 6 contact.
    assert len(visitor.transcript) == 38  # "hi" + 37 answers


def test_start_over_goes_back_to_consent(stack):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    visitor.send("Yes")
    messages = visitor.send("start over")
    assert asked(messages) == "consent"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"not json",
        b'{"message": "hi"}',
        b'{"sender": 5, "message": "hi"}',
        b'{"sender": "", "message": "hi"}',
        b'{"sender": "default", "message": "hi"}',
        b'{"sender": "abc"}',
        b'{"sender": "abc", "message": 42}',
        b'{"sender": "abc", "message": "   "}',
        json.dumps({"sender": "abc", "message": "x" * 5000}).encode(),
    ],
)
def test_malformed_rest_requests_get_a_4xx_json_error(stack, body):
    status, payload = stack.post(body)
    assert 400 <= status < 500, (status, payload)
    assert isinstance(payload, dict) and payload.get("error")

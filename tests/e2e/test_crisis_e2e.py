"""End to end: risk messages at any turn get 988 at once and a signed staff alert; inside an episode every
reply is assessed first, "No" / "Not sure" escalate, every rise is a new signed alert, item 9 leads to the
C-SSRS, a web visitor can leave a call-back number, and a misunderstanding gets an answer."""

from __future__ import annotations

import time

import pytest

from bot.handoff.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from tests.e2e.stack import SECRET
from bot.safety.detector import assess_risk
from bot.safety.episode import RISK_CHECK_QUESTION_ID as CHECK
from tests.e2e.visitor import Visitor, asked, buttons


def reply_text(messages) -> str:
    return " ".join(m.get("text") or "" for m in messages)


def wait_for_alerts(stack, sender, count, timeout_s=20.0):
    """The conversation's alerts, in sequence order, once at least `count` arrived (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        alerts = sorted(stack.receiver.events(sender, "crisis.alert"), key=lambda a: a.event.get("sequence", 1))
        if len(alerts) >= count or time.monotonic() > deadline:
            return alerts
        time.sleep(0.2)


def assert_signed(alert):
    assert alert.signature_ok
    assert alert.headers[SIGNATURE_HEADER] == sign(alert.body, SECRET)
    assert alert.headers[IDEMPOTENCY_HEADER] == alert.event["id"]


def assert_signed_alert(stack, sender, text):
    alerts = stack.receiver.wait_for(sender, "crisis.alert")
    assert len(alerts) == 1, [a.event for a in alerts]
    alert = alerts[0]
    assert alert.signature_ok
    assert alert.headers[SIGNATURE_HEADER] == sign(alert.body, SECRET)
    assert alert.headers[IDEMPOTENCY_HEADER] == alert.event["id"]
    assert alert.event["message"] == text
    assert alert.event["severity"] in {"imminent", "high", "moderate"}
    assert alert.event["categories"]
    return alert.event


# Phrasings written for this test, not copied from the lexicon, the NLU data or the evaluation set.
FIRST_MESSAGES = [
    "i think everyone would be happier if i just wasn't here anymore",
    "been planning how to end things, got the rope already",
    "Took like 30 of my sleeping pills an hour ago",
    "sometimes I slice my thighs so I can feel something",
    "my boyfriend choked me last night and said next time he'll finish it",
    "ya no aguanto más, me quiero morir",
]


def is_full_reply(messages) -> bool:
    """The full crisis reply (988, the Crisis Text Line and the emergency room, as the widget tells it:
    web/chat.js isCrisisReply), not the check question (988 and 911 only) nor the minors' ending (741741)."""
    text = reply_text(messages)
    return "988" in text and "741741" in text and ("emergency room" in text or "sala de emergencias" in text)


@pytest.mark.parametrize("text", FIRST_MESSAGES)
def test_risk_as_the_first_message_gets_988_and_a_signed_alert(stack, text):
    visitor = Visitor(stack.say, {})
    messages = visitor.send(text)
    reply = reply_text(messages)
    assert "988" in reply and "911" in reply, reply
    if asked(messages) == CHECK:
        # Only the model flagged it (the detector misses this phrasing): asked first, and a Yes escalates.
        assert not is_full_reply(messages)
        messages = visitor.send("Yes")
        assert is_full_reply(messages) and asked(messages) == "crisis_safe"
        alerts = wait_for_alerts(stack, visitor.sender, 1)
        assert len(alerts) == 1 and alerts[0].event["reason"] == "check_confirmed"
        assert text in alerts[0].event["message"] and "Yes" in alerts[0].event["message"]
        assert_signed(alerts[0])
        return
    assert asked(messages) == "crisis_safe" or "?" in messages[-1]["text"]
    assert_signed_alert(stack, visitor.sender, text)


# Messages the deterministic detector may miss, so what they reach depends on the trained model alone. Which
# ones the model flags depends on the training run; the first that gets the check question is used (the REST
# reply tells: the check question, not the full reply). Another lexicon review may catch some: they are skipped.
MODEL_ONLY_CANDIDATES = [
    "i think everyone would be happier if i just wasn't here anymore",
    "hey, my therapist said ketamine might help my PTSD. I'm a vet, 41",
    "I want to try something new because therapy isn't enough",
    "i just want everything to stop for good",
    "nobody would even notice if i was gone",
]


def checked_visitor(stack):
    """A new visitor whose first message got the check question, and that message."""
    for text in MODEL_ONLY_CANDIDATES:
        if assess_risk(text).is_risk:
            continue
        visitor = Visitor(stack.say, {})
        messages = visitor.send(text)
        if asked(messages) == CHECK:
            assert "988" in reply_text(messages) and "911" in reply_text(messages)
            assert not is_full_reply(messages)
            assert [b["title"] for b in buttons(messages)] == ["Yes", "No", "Not sure"]
            return visitor, text
        # Not flagged at all, or the full reply (then the detector's level): no alert unless the full reply.
    pytest.fail("no candidate message was flagged by the model alone: add one the detector misses")


def test_a_model_only_message_gets_the_check_no_alert_and_a_clear_no_resumes(stack):
    visitor, _ = checked_visitor(stack)
    messages = visitor.send("No")
    text = reply_text(messages)
    assert "If that changes, you can call or text 988" in text and not is_full_reply(messages)
    assert asked(messages) == "consent"  # the introduction and consent, as for any first message
    time.sleep(1.5)
    assert stack.receiver.events(visitor.sender, "crisis.alert") == []


def test_a_yes_to_the_check_escalates_with_a_signed_alert(stack):
    visitor, first = checked_visitor(stack)
    time.sleep(1.0)
    assert stack.receiver.events(visitor.sender, "crisis.alert") == []  # none for the check itself
    messages = visitor.send("Yes")
    assert is_full_reply(messages) and "911" in reply_text(messages) and asked(messages) == "crisis_safe"
    alerts = wait_for_alerts(stack, visitor.sender, 1)
    assert len(alerts) == 1
    assert_signed(alerts[0])
    event = alerts[0].event
    assert event["reason"] == "check_confirmed" and first in event["message"] and "Yes" in event["message"]


# Ordinary messages from this domain, asked mid-screening: at most 1 in 50 get the full crisis reply and an
# alert (issue 8); one the model alone flags gets the check question (988 in view) instead.
ORDINARY = [
    "how much does it cost?",
    "is ketamine addictive?",
    "can I keep taking my lexapro?",
    "what are the side effects",
    "I get panic attacks at work",
    "my anxiety is killing me lately",
    "I'm dying to know if insurance covers it",
    "my mom died last year and I've been sad since",
    "I was in a car accident years ago and still have flashbacks",
    "do you take blue cross",
    "what dose of ketamine do you use",
    "I have trouble sleeping most nights",
    "can I drive after the infusion",
    "I feel hopeless about my OCD sometimes",
    "where is the clinic",
    "is it safe with high blood pressure",
    "I've tried 3 antidepressants and nothing worked",
    "what if I feel sick during the infusion",
    "my therapist suggested ketamine",
    "how many sessions will I need",
]


def test_ordinary_messages_mid_screening_get_at_most_one_full_reply_in_fifty(stack):
    senders, full, checked = [], [], []
    for text in ORDINARY:
        visitor = Visitor(stack.say, {})
        visitor.send("hi")
        visitor.send("Yes")
        messages = visitor.send(text)
        senders.append(visitor.sender)
        if is_full_reply(messages):
            full.append(text)
        elif asked(messages) == CHECK:
            checked.append(text)
            assert "988" in reply_text(messages)
    time.sleep(2.0)
    alerted = [t for t, s in zip(ORDINARY, senders) if stack.receiver.events(s, "crisis.alert")]
    print(f"ordinary mid-screening: {len(full)} full replies, {len(alerted)} alerts, {len(checked)} checks")
    assert len(full) * 50 <= len(ORDINARY), full
    assert len(alerted) * 50 <= len(ORDINARY), alerted


@pytest.mark.parametrize("idiom", ["this traffic is killing me", "I'm dying to know", "dead line"])
def test_benign_idioms_named_in_the_brief_raise_nothing(stack, idiom):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    messages = visitor.send(idiom)
    assert "988" not in reply_text(messages)
    assert asked(messages) == "consent"  # the question is simply asked again
    time.sleep(1.0)
    assert stack.receiver.events(visitor.sender, "crisis.alert") == []

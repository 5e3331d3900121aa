"""End to end over the REST channel: what the first message gets. A clinic question is answered before the
introduction and consent; a Spanish message gets the Spanish note first; the privacy note comes before consent;
a Spanish crisis message still gets the crisis reply before anything else."""

from __future__ import annotations

import pytest

from actions.interruptions import spanish_notice_for
from bot.clinic import load_clinic_profile
from bot.screening.content import content
from tests.e2e.visitor import Visitor, asked


def texts(messages) -> list:
    return [m.get("text") or "" for m in messages]


def introduction_index(messages) -> int:
    """Where the introduction (the consent question's first preface line) starts in the reply."""
    first_line = content().questions["consent"].preface[0]
    return texts(messages).index(first_line)


@pytest.mark.parametrize(
    "text, topic",
    [
        ("I'm a nurse and I work nights, do you have evening hours?", "hours"),
        ("what is the difference between spravato and iv ketamine", "spravato_vs_iv"),
    ],
)
def test_a_clinic_question_as_the_first_message_is_answered_then_introduction_and_consent(stack, text, topic):
    messages = Visitor(stack.say, {}).send(text)
    replies = texts(messages)
    answer = load_clinic_profile().faq[topic]
    assert answer in replies, replies
    assert replies.index(answer) < introduction_index(messages)
    assert asked(messages) == "consent"


def test_the_privacy_note_comes_before_the_consent_question(stack):
    messages = Visitor(stack.say, {}).send("hi")
    replies = texts(messages)
    [note] = [t for t in replies if "privacy notice" in t.lower()]
    assert "24 hours after your last message" in note  # the stack runs with TRANSCRIPT_RETENTION_MINUTES=1440
    assert load_clinic_profile().privacy_notice_url in note
    assert replies.index(note) < len(replies) - 1 and asked(messages) == "consent"


@pytest.mark.parametrize(
    "text", ["hola, tienen información en español?", "hablan español?", "necesito ayuda en español"]
)
def test_a_spanish_first_message_gets_the_spanish_note_then_the_english_introduction(stack, text):
    messages = Visitor(stack.say, {}).send(text)
    replies = texts(messages)
    notice = spanish_notice_for(text)
    assert notice and replies[0] == notice, replies
    assert replies.count(notice) == 1
    assert introduction_index(messages) > 0 and asked(messages) == "consent"


def test_a_spanish_crisis_message_gets_the_crisis_reply_not_the_language_note(stack):
    text = "hola, necesito ayuda, ya no quiero vivir"
    visitor = Visitor(stack.say, {})
    messages = visitor.send(text)
    reply = " ".join(texts(messages))
    assert "988" in reply and "911" in reply and "AYUDA" in reply, reply
    assert spanish_notice_for(text) not in texts(messages)  # the crisis reply, in Spanish, and nothing before it
    assert stack.receiver.wait_for(visitor.sender, "crisis.alert")

"""A first message that is a clinic question the classifier misread is still answered (bot/opening.py)."""

from __future__ import annotations

import pytest

from bot.opening import TOPIC_CONFIDENCE, misread_clinic_question

NURSE = "I'm a nurse and I work nights, do you have evening hours?"


def test_a_question_with_a_sure_topic_is_answered():
    assert misread_clinic_question("inform", NURSE, "hours", 0.99)
    assert misread_clinic_question("greet", "what are your hours", "hours", TOPIC_CONFIDENCE)


@pytest.mark.parametrize(
    "intent, text, topic, confidence",
    [
        ("inform", NURSE, "hours", TOPIC_CONFIDENCE - 0.01),
        ("inform", NURSE, None, 0.99),
        ("inform", "I work nights", "hours", 0.99),
        ("affirm", "yes?", "hours", 0.99),
        ("crisis", NURSE, "hours", 0.99),
        ("stop", "can we stop?", "hours", 0.99),
    ],
)
def test_otherwise_not(intent, text, topic, confidence):
    assert not misread_clinic_question(intent, text, topic, confidence)

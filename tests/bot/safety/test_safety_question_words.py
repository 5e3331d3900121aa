"""What "Are you safe right now?" hears. A reply about not being safe must never read as "safe"."""

from __future__ import annotations

import pytest

from bot.safety.detector import RiskAssessment
from bot.safety.episode import CrisisState, followup_question, open_episode
from bot.screening.answers import parse_answer

RISK = RiskAssessment(is_risk=True, categories=("suicidal_thoughts",), severity="high", language="en")


def safety_question():
    state, _ = open_episode(CrisisState(), RISK)
    question = followup_question(state)
    assert question is not None and question.id == "crisis_safe"
    return question


@pytest.mark.parametrize(
    "reply",
    [
        "not safe right now",
        "I'm not safe right now",
        "no, not right now",
        "nope not right now",
        "right now im not safe",
        "no",
    ],
)
def test_not_safe_replies_read_as_not_safe(reply):
    parsed = parse_answer(safety_question(), reply)
    assert parsed.ok and parsed.value == "no", reply


@pytest.mark.parametrize("reply", ["I don't know right now", "not sure right now", "i think so", "idk"])
def test_unsure_replies_read_as_not_sure(reply):
    parsed = parse_answer(safety_question(), reply)
    assert parsed.ok and parsed.value == "not_sure", reply


@pytest.mark.parametrize(
    "reply",
    [
        "definitely not",
        "absolutely not",
        "of course not",
        "I am scared",
        "i am alone",
        "i have pills",
        "I am done",
        "that's right",
        "all right",
        "right",
    ],
)
def test_replies_that_do_not_say_safe_are_never_safe(reply):
    parsed = parse_answer(safety_question(), reply)
    assert not (parsed.ok and parsed.value == "yes"), reply


@pytest.mark.parametrize("reply", ["yes", "Yes", "yeah", "I'm safe", "safe", "sí", "estoy a salvo", "ok"])
def test_plain_safe_replies_read_as_safe(reply):
    parsed = parse_answer(safety_question(), reply)
    assert parsed.ok and parsed.value == "yes", reply

"""What a flagged message reaches (issue 8, "False alarms cost trust"): the detector's match is the full crisis
reply and alert (`crisis`); the model alone asks the check question first (`check`), always with 988 in view."""

from __future__ import annotations

import pytest

from bot.safety.detector import assess_risk
from bot.safety.parse_data import crisis_level_from_parse_data, risk_parse_data
from bot.safety.signals import LEVEL_CHECK, LEVEL_CRISIS, LEVEL_NONE, combine_signals

MODEL_SURE = [{"name": "crisis", "confidence": 1.0}]


@pytest.mark.parametrize(
    "detector, top_intent, ranking, level",
    [
        (True, "inform", [{"name": "inform", "confidence": 0.99}], LEVEL_CRISIS),
        (True, "crisis", MODEL_SURE, LEVEL_CRISIS),
        (False, "crisis", MODEL_SURE, LEVEL_CHECK),
        (False, "inform", [{"name": "inform", "confidence": 0.5}, {"name": "crisis", "confidence": 0.45}], LEVEL_CHECK),
        (False, "inform", [{"name": "inform", "confidence": 0.9}, {"name": "crisis", "confidence": 0.1}], LEVEL_NONE),
        (False, None, [], LEVEL_NONE),
    ],
)
def test_the_level_follows_which_signal_fired(detector, top_intent, ranking, level):
    signal = combine_signals(detector, top_intent, ranking)
    assert signal.level == level
    assert signal.confirmed is (level == LEVEL_CRISIS)
    # Every flagged message still escalates out of the questionnaire: a check is a risk question, not a pass.
    assert signal.escalate is (level != LEVEL_NONE)


def parse_data_for(text: str, top_intent: str, ranking: list) -> dict:
    assessment = assess_risk(text)
    return {"text": text, "risk": risk_parse_data(assessment, combine_signals(assessment.is_risk, top_intent, ranking))}


def test_a_model_only_flag_on_an_ordinary_first_message_is_a_check_not_the_full_reply():
    # The false alarms: the lexicon does not match them, so at most the model does, and then the
    # visitor is asked first instead of being told to call 988 and staff being alerted.
    for text in (
        "hey, my therapist said ketamine might help my PTSD. I'm a vet, 41",
        "I want to try something new because therapy isn't enough",
    ):
        data = parse_data_for(text, "crisis", MODEL_SURE)
        assert data["risk"]["level"] == LEVEL_CHECK and data["risk"]["confirmed"] is False
        assert crisis_level_from_parse_data(data) == LEVEL_CHECK


def test_a_reviewed_risk_phrasing_is_the_full_reply_whatever_the_model_said():
    data = parse_data_for(
        "i have been thinking about ending my life", "inform", [{"name": "inform", "confidence": 1.0}]
    )
    assert data["risk"]["level"] == LEVEL_CRISIS and data["risk"]["confirmed"] is True
    assert crisis_level_from_parse_data(data) == LEVEL_CRISIS


CHECK = {
    "escalate": True,
    "level": "check",
    "confirmed": False,
    "detector": False,
    "model": True,
    "model_confidence": 1.0,
    "categories": [],
    "severity": None,
    "language": "en",
}


@pytest.mark.parametrize(
    "risk",
    [
        "missing",
        None,
        "check",
        {**CHECK, "level": "crisis"},
        {**CHECK, "confirmed": True},
        {**CHECK, "confirmed": "false"},
        {**CHECK, "detector": True},
        {**CHECK, "model": False},
        {**CHECK, "escalate": False},
        {k: v for k, v in CHECK.items() if k != "level"},
        {k: v for k, v in CHECK.items() if k != "confirmed"},
    ],
)
def test_anything_short_of_an_exact_check_is_read_as_the_full_crisis(risk):
    parse_data = {"text": "x"} if risk == "missing" else {"text": "x", "risk": risk}
    assert crisis_level_from_parse_data(parse_data) == LEVEL_CRISIS
    assert crisis_level_from_parse_data(None) == LEVEL_CRISIS


def test_an_exact_check_is_read_as_a_check():
    assert crisis_level_from_parse_data({"text": "x", "risk": dict(CHECK)}) == LEVEL_CHECK

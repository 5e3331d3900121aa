"""The NLU pipeline component, on real rasa Message objects (no trained model needed)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.safety.detector import assess_risk
from bot.safety.parse_data import assessment_from_parse_data
from rasa_ext.risk_component import RiskDetector


def classified(text: str, intent: str, confidence: float, crisis_confidence: float = 0.0) -> Message:
    ranking = [{"name": intent, "confidence": confidence}]
    if crisis_confidence:
        ranking.append({"name": "crisis", "confidence": crisis_confidence})
    return Message(data={"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking})


def run(message: Message) -> Message:
    return RiskDetector({"model_threshold": 0.4}).process([message])[0]


def test_the_detector_overrides_whatever_the_model_said():
    message = run(classified("i want to end my life", "inform", 0.97))
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "crisis"
    risk = message.get("risk")
    assert risk["escalate"] and risk["detector"] and not risk["model"]
    assert "suicidal_thoughts" in risk["categories"]


def test_the_model_alone_escalates_above_its_threshold():
    message = run(classified("everything feels pointless", "inform", 0.5, crisis_confidence=0.45))
    assert message.get("intent")["name"] == "crisis"
    assert message.get("risk")["model"] and not message.get("risk")["detector"]


def test_ordinary_messages_keep_their_intent():
    message = run(classified("this traffic is killing me", "inform", 0.9, crisis_confidence=0.02))
    assert message.get("intent")["name"] == "inform"
    assert message.get("risk")["escalate"] is False


def test_the_assessment_is_part_of_the_parse_output():
    message = run(classified("kms", "nlu_fallback", 0.45))
    assert "risk" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    "text",
    [
        "i want to end my life",
        "I took all my pills because my husband hits me",
        "me quiero morir",
        "this traffic is killing me",
    ],
)
def test_the_actions_read_back_exactly_what_the_detector_found(text):
    # What the action server receives is the parse output; it must convert back to the detector's assessment.
    parse_data = run(classified(text, "inform", 0.9)).as_dict(only_output_properties=True)
    assert assessment_from_parse_data(parse_data) == assess_risk(text)


def test_a_detector_match_is_the_full_crisis_level():
    risk = run(classified("i want to end my life", "crisis", 1.0, crisis_confidence=1.0)).get("risk")
    assert (risk["level"], risk["confirmed"]) == ("crisis", True)


def test_the_model_alone_is_the_check_level_and_keeps_the_crisis_intent():
    # The intent stays `crisis` so the rules still route to the crisis action (which asks the check question);
    # a dialogue that does not read the level escalates fully, never less.
    message = run(classified("I want to try something new because therapy isn't enough", "crisis", 1.0))
    assert message.get("intent")["name"] == "crisis"
    risk = message.get("risk")
    assert (risk["level"], risk["confirmed"], risk["escalate"]) == ("check", False, True)


def test_an_unflagged_message_is_level_none():
    risk = run(classified("where is your office", "faq", 0.9, crisis_confidence=0.01)).get("risk")
    assert (risk["level"], risk["confirmed"], risk["escalate"]) == ("none", False, False)

"""The risk assessment in a message's parse data: written by the NLU component, read (strictly) by the actions."""

from __future__ import annotations

import pytest

from bot.safety.detector import NO_RISK, RiskAssessment, assess_risk
from bot.safety.parse_data import RISK_KEY, assessment_from_parse_data, risk_parse_data
from bot.safety.signals import combine_signals


def parse_data_for(text: str) -> dict:
    assessment = assess_risk(text)
    signal = combine_signals(assessment.is_risk, "inform", [{"name": "inform", "confidence": 0.9}])
    intent = {"name": "inform", "confidence": 0.9}
    return {"text": text, "intent": intent, RISK_KEY: risk_parse_data(assessment, signal)}


@pytest.mark.parametrize(
    "text",
    [
        "i want to end my life",
        "I took all my pills because my husband hits me",  # two categories, the most severe first
        "me quiero morir",  # Spanish
        "what does the first visit cost",  # no risk
    ],
)
def test_what_is_written_reads_back_as_the_same_assessment(text):
    assert assessment_from_parse_data(parse_data_for(text)) == assess_risk(text)


def test_the_signal_is_kept_for_evaluation():
    risk = parse_data_for("i want to end my life")[RISK_KEY]
    assert risk["escalate"] and risk["detector"] and not risk["model"] and risk["model_confidence"] == 0.0


def valid_risk(**changes) -> dict:
    risk = {
        "escalate": True,
        "detector": True,
        "model": False,
        "model_confidence": 0.1,
        "categories": ["suicide_plan", "self_harm"],
        "severity": "imminent",
        "language": "en",
    }
    risk.update(changes)
    return risk


def test_a_valid_assessment_is_read():
    assert assessment_from_parse_data({RISK_KEY: valid_risk()}) == RiskAssessment(
        True, ("suicide_plan", "self_harm"), "imminent", "en"
    )
    no_risk = valid_risk(detector=False, escalate=False, categories=[], severity=None)
    assert assessment_from_parse_data({RISK_KEY: no_risk}) == NO_RISK


@pytest.mark.parametrize(
    "parse_data",
    [
        None,
        "risk",
        {},
        {"text": "hi"},
        {RISK_KEY: None},
        {RISK_KEY: "high"},
        {RISK_KEY: valid_risk(detector="yes")},
        {RISK_KEY: valid_risk(detector=None)},
        {RISK_KEY: valid_risk(categories="suicide_plan")},
        {RISK_KEY: valid_risk(categories=["suicide_plan", 3])},
        {RISK_KEY: valid_risk(categories=["made_up_category"])},
        {RISK_KEY: valid_risk(categories=[])},  # a risk without a category
        {RISK_KEY: valid_risk(severity="urgent")},
        {RISK_KEY: valid_risk(severity=None)},
        {RISK_KEY: valid_risk(language="fr")},
        {RISK_KEY: valid_risk(detector=False)},  # "no risk" that still lists categories
        {RISK_KEY: valid_risk(detector=False, categories=[], severity="high")},
        {RISK_KEY: {key: value for key, value in valid_risk().items() if key != "language"}},
    ],
)
def test_missing_or_malformed_assessments_are_not_used(parse_data):
    assert assessment_from_parse_data(parse_data) is None

"""The C-SSRS screener: published items and skip logic from data, triage as the Columbia guidelines."""

from __future__ import annotations

import pytest

from bot.readability import flesch_kincaid_grade
from bot.safety.cssrs import load_screener, next_item, result_summary, screener, triage
from bot.safety.detector import SEVERITY_ORDER


def asked_ids(answers_by_id):
    """Walk the screener answering from `answers_by_id`; the ids in the order they were asked."""
    answers, asked = {}, []
    while (item := next_item(answers)) is not None:
        asked.append(item.id)
        answers[item.id] = answers_by_id.get(item.id, "no")
    return asked, answers


def test_published_wording_and_source_are_in_the_data():
    content = load_screener()
    texts = {i.id: i.text for i in content.items}
    assert texts["q1"] == "Have you wished you were dead or wished you could go to sleep and not wake up?"
    assert texts["q2"] == "Have you actually had any thoughts of killing yourself?"
    assert texts["q4"] == "Have you had these thoughts and had some intention of acting on them?"
    assert "Posner" in content.source and "1266" in content.source and "Columbia" in content.source
    assert content.stem == "In the past month:"


def test_no_to_q2_skips_to_q6():
    asked, _ = asked_ids({"q1": "yes", "q2": "no"})
    assert asked == ["q1", "q2", "q6"]


def test_yes_to_q2_asks_method_intent_plan_and_behaviour():
    asked, answers = asked_ids({"q1": "yes", "q2": "yes"})
    assert asked == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert triage(answers).result == "low"


def test_yes_to_q4_is_high_at_once_and_asks_nothing_more():
    asked, answers = asked_ids({"q1": "yes", "q2": "yes", "q4": "yes"})
    assert asked == ["q1", "q2", "q3", "q4"]
    summary = result_summary(answers)
    assert (summary["result"], summary["severity"], summary["complete"]) == ("high", SEVERITY_ORDER[0], True)


@pytest.mark.parametrize(
    "answers,result",
    [
        ({"q1": "no", "q2": "no", "q6": "no"}, "negative"),
        ({"q1": "not_sure", "q2": "no", "q6": "no"}, "low"),  # Not sure counts as Yes
        ({"q1": "yes", "q2": "yes", "q3": "yes", "q4": "no", "q5": "no", "q6": "no"}, "moderate"),
        ({"q1": "no", "q2": "no", "q6": "yes", "q6b": "no"}, "moderate"),  # lifetime behaviour only
        ({"q1": "no", "q2": "no", "q6": "yes", "q6b": "not_sure"}, "high"),  # behaviour in the past 3 months
        ({"q1": "yes", "q2": "yes", "q3": "no", "q4": "no", "q5": "yes"}, "high"),
    ],
)
def test_triage(answers, result):
    assert triage(answers).result == result


def test_behaviour_asks_when_it_happened():
    asked, _ = asked_ids({"q6": "yes"})
    assert asked == ["q1", "q2", "q6", "q6b"]


def test_our_own_words_around_the_items_read_at_grade_8():
    # The items are published wording (exempt); the intro and guidance are ours.
    content = screener()
    for text in (content.intro["en"], content.guidance["en"]):
        assert flesch_kincaid_grade(text) <= 8.0, text
    assert content.options["es"] == ("Sí", "No", "No estoy seguro") and "inglés" in content.intro["es"]

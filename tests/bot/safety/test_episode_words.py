"""The episode's phrase lists: risk in context, misunderstandings, and what a clear "Not at all" is."""

from __future__ import annotations

import pytest

from bot.safety.episode_words import asks_to_resume, episode_risk, is_clear_not_at_all, says_misunderstanding


@pytest.mark.parametrize(
    "text",
    [
        "yeah i'm safe for now but the pills are right next to me",
        "i'm fine, lets continue. i already decided i'm doing it this weekend",
        "sí, pero las pastillas están a mi lado",
    ],
)
def test_risk_in_a_reply_inside_an_episode(text):
    assessment = episode_risk(text)
    assert assessment is not None and assessment.is_risk and assessment.severity == "imminent"


@pytest.mark.parametrize("text", ["yes", "Not sure", "Keep going", "818 555 0111", "I'm ok, thanks"])
def test_ordinary_replies_carry_no_episode_risk(text):
    assert episode_risk(text) is None


@pytest.mark.parametrize(
    "text", ["I'm not suicidal, I just have PTSD", "that's not what I meant", "You misunderstood me", "no soy suicida"]
)
def test_misunderstandings(text):
    assert says_misunderstanding(text)


def test_a_plain_no_is_not_a_misunderstanding():
    assert not says_misunderstanding("no") and not says_misunderstanding("I am safe")


@pytest.mark.parametrize(
    "text,clear",
    [
        ("Not at all", True),
        ("0", True),
        ("no", True),
        ("not really", False),
        ("rarely", False),
        ("idk", False),
        ("sometimes", False),
        ("not at all really", False),
    ],
)
def test_item9_only_a_clear_not_at_all_is_negative(text, clear):
    assert is_clear_not_at_all(text) is clear


def test_resume_only_on_asking_for_the_questions():
    assert asks_to_resume("can we keep going with the questions")
    assert not asks_to_resume("i feel a bit better")

"""The crisis follow-up questions and the last-resort crisis reply: plain, short, with the numbers."""

from __future__ import annotations

import pytest

from bot.readability import flesch_kincaid_grade
from bot.safety.responses import EPISODE_KEYS, LAST_RESORT_CRISIS_REPLY, episode_text, fallback_reply, question_texts

MAX_GRADE = 8.0


@pytest.mark.parametrize("key", ["safe", "safe_guidance", "continue", "continue_guidance", "resume"])
def test_english_follow_up_wording_is_plain(key):
    assert flesch_kincaid_grade(question_texts("en")[key]) <= MAX_GRADE


def test_every_language_has_both_questions_with_buttons():
    for language in ("en", "es"):
        texts = question_texts(language)
        assert len(texts["safe_options"]) == 3 and len(texts["continue_options"]) == 2
        assert "988" in texts["continue_guidance"] and "911" in texts["safe_guidance"]


@pytest.mark.parametrize("reply", [LAST_RESORT_CRISIS_REPLY, fallback_reply("en")])
def test_the_fallback_crisis_reply_is_complete_and_plain(reply):
    # The data's fallback, and the last-resort text in code for when the data cannot be read.
    assert all(n in reply for n in ("988", "741741", "911"))
    assert "\n\n" not in reply
    assert flesch_kincaid_grade(reply) <= MAX_GRADE


@pytest.mark.parametrize("key", EPISODE_KEYS)
def test_english_episode_texts_are_plain_and_one_paragraph(key):
    text = episode_text(key, "en", next_open="Monday at 9 am", phone="(818) 555-0134", known_phone="(818) 555-0199")
    assert "\n" not in text and "{" not in text
    assert flesch_kincaid_grade(text) <= MAX_GRADE, text


def test_spanish_has_every_episode_text():
    for key in EPISODE_KEYS:
        assert episode_text(key, "es") != episode_text(key, "en") or key.endswith("_options")

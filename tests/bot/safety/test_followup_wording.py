"""The crisis follow-up questions and the last-resort crisis reply: plain, short, with the numbers."""

from __future__ import annotations

import pytest

from bot.readability import flesch_kincaid_grade
from bot.safety.responses import LAST_RESORT_CRISIS_REPLY, fallback_reply, question_texts

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

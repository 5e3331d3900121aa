from __future__ import annotations

import pytest

from bot.readability import count_syllables, flesch_kincaid_grade, sentence_count


@pytest.mark.parametrize(
    "word,syllables",
    [
        ("cat", 1),
        ("table", 2),
        ("make", 1),
        ("wanted", 2),
        ("jumped", 1),
        ("people", 2),
        ("happy", 2),
        ("remember", 3),
        ("988", 1),
    ],
)
def test_syllables(word, syllables):
    assert count_syllables(word) == syllables


def test_simple_text_scores_low_and_dense_text_scores_high():
    assert flesch_kincaid_grade("The cat sat on the mat. It was a good cat.") < 3
    dense = (
        "Individuals experiencing significant psychological difficulties should immediately contact "
        "appropriate professional organizations regarding comprehensive evaluation."
    )
    assert flesch_kincaid_grade(dense) > 16


def test_known_value():
    # 2 sentences, 10 words, 11 syllables: 0.39*5 + 11.8*1.1 - 15.59 = -0.66
    assert flesch_kincaid_grade("I like my dog. He is a very good boy.") == pytest.approx(-0.66, abs=0.01)


def test_empty_and_sentences():
    assert flesch_kincaid_grade("") == 0.0
    assert flesch_kincaid_grade("!!!") == 0.0
    assert sentence_count("One. Two! Three?") == 3
    assert sentence_count("no end mark") == 1

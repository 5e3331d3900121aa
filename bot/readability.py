"""Reading level of the bot's own texts (Flesch-Kincaid grade), so content stays at or below 8th grade.

A small, dependency-free estimate: syllables are counted by vowel groups with the usual English fixes.
It is a guide for content review, not a precise linguistic measure; very short texts score unreliably.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Estimated syllables in one English word (at least 1)."""
    word = word.lower().strip("'\u2019")
    if not word:
        return 0
    if word.isdigit():
        # Numbers like "988" or "5" are read as short words; count one syllable per digit group.
        return 1
    word = re.sub(r"['\u2019]s$", "", word)
    count = len(_VOWEL_GROUP.findall(word))
    # Silent final "e" (make, time), but not "-le" after a consonant (table, little).
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    # "-ed" endings are usually silent unless after t/d (wanted, needed).
    if word.endswith("ed") and len(word) > 3 and word[-3] not in "td" and count > 1:
        count -= 1
    return max(1, count)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentence_count(text: str) -> int:
    parts = [p for p in _SENTENCE_END.split(text) if _WORD.search(p)]
    return max(1, len(parts))


def flesch_kincaid_grade(text: str) -> float:
    """Flesch-Kincaid grade level of `text`; 0.0 for text without words."""
    found = words(text)
    if not found:
        return 0.0
    syllables = sum(count_syllables(w) for w in found)
    grade = 0.39 * (len(found) / sentence_count(text)) + 11.8 * (syllables / len(found)) - 15.59
    return round(grade, 2)

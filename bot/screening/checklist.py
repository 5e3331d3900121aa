"""Reads a reply to a checklist question: "Do any of these apply to you?" with numbered lines, "1. None of these"
first (data/clinic/contraindications.yml `checklist`).

One reply may pick several lines, by number or in words: "2 and 5", "bladder problems and my brother has
schizophrenia", "none". The answer is the list of picked item ids in data order, ["none"] or ["not_sure"].
A reply it cannot read for sure (nothing found, a number not shown, "None" with an item, a negated or hedged
item: "no liver problems", "maybe 3", a range "2-4") is refused with guidance, never guessed.
A number picks a line only in a part of the reply made of numbers and filler ("2 and 5", "#3", "liver, 4"):
one attached to words is a count, a year or a type ("sober for 3 years", "bipolar 2"), and only words count.
"""

from __future__ import annotations

import re
import unicodedata
from typing import List, Optional, Set, Tuple

from bot.screening.content import AnswerWords
from bot.screening.model import ParsedAnswer, Question

NONE = "none"
NOT_SURE = "not_sure"
NOT_SURE_TITLE = "Not sure"
FIRST_ITEM_NUMBER = 2  # 1 is "None of these"

_NEGATORS = {"not", "no", "never", "don't", "dont", "didn't", "didnt", "without", "nor", "isn't", "haven't"}
# Where one picked line ends and the next begins: "2, 5", "2 and 5", "2 & 5" ("&" reads as "and"), "2/5".
_SEPARATORS = re.compile(r"\s*(?:[,;/]|\band\b|\bor\b|\bbut\b|\bplus\b|\balso\b)\s*")
# Words that may stand beside item numbers without making them a count ("numbers 2 and 4", "I pick 3").
_NUMBER_FILLER = frozenset(
    "number numbers num item items line lines option options choice choices i pick picked choose chose say "
    "would the ones one both only just".split()
)
_RANGE = re.compile(r"(\d{1,2})\s*(?:-|\u2013|to|through|thru)\s*(\d{1,2})")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").casefold()
    text = text.replace("&", " and ").replace("+", " and ")
    return " ".join(text.split()).strip(" .,!?;:\"'()[]{}*_~")


def _pattern(phrase: str) -> re.Pattern:
    return re.compile(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])")


def _negated(norm: str, start: int) -> bool:
    """A negator in the two words before `start` ("no liver problems", "not 4")."""
    return any(word.strip(",.;:") in _NEGATORS for word in norm[:start].split()[-2:])


def _fail(question: Question, prefix: str = "") -> ParsedAnswer:
    return ParsedAnswer(ok=False, error=f"{prefix} {question.guidance}".strip())


def _number_segments(norm: str) -> List[List[int]]:
    """The numbers of each part of the reply (split at commas, "and", "or" ...) that is made of item numbers
    and filler only ("2 and 5", "#3", "numbers 2, 4"). A number attached to words is a count, a year or a type
    ("sober for 3 years", "my 2 kids", "bipolar 2"), never an item number: that part is left to the words."""
    segments = []
    for segment in _SEPARATORS.split(norm):
        numbers, words = [], False
        for token in segment.split():
            token = token.strip("#.():")
            if token.isdigit():
                numbers.append(int(token))
            elif token and token not in _NUMBER_FILLER:
                words = True
        if numbers and not words:
            segments.append(numbers)
    return segments


def _numbers(question: Question, norm: str) -> Tuple[Set[int], Optional[str]]:
    """Line numbers typed (1 = None of these), or a problem to tell the visitor."""
    last = len(question.checklist_items) + FIRST_ITEM_NUMBER - 1
    found: Set[int] = set()
    for segment in _SEPARATORS.split(norm):
        span = _RANGE.fullmatch(segment.strip(" #"))
        if span:
            # "2-4" could mean 2 and 4, or 2 to 4: asked, never guessed.
            low, high = int(span.group(1)), int(span.group(2))
            each = range(low, high + 1) if low < high <= last else (low, high)
            listed = ", ".join(str(n) for n in each)
            return set(), f"Did you mean {low} to {high}? Please type each number you mean, like {listed}."
    for number in (n for segment in _number_segments(norm) for n in segment):
        if not 1 <= number <= last:
            return set(), f"There is no number {number}."
        found.add(number)
    return found, None


def _phrases(question: Question, norm: str) -> Tuple[Set[str], bool]:
    """Items named in words (longest phrase first, no overlaps), and whether one was negated."""
    hits = []
    for item in question.checklist_items:
        for phrase in {*item.synonyms, item.title.casefold()}:
            for found in _pattern(phrase).finditer(norm):
                hits.append((found.end() - found.start(), found.start(), found.end(), item.value))
    hits.sort(key=lambda hit: (-hit[0], hit[1]))
    taken: List[Tuple[int, int]] = []
    picked: Set[str] = set()
    negated = False
    for _, start, end, value in hits:
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        negated = negated or _negated(norm, start)
        picked.add(value)
    for item in question.checklist_items:
        if item.together and all(any(_pattern(word).search(norm) for word in group) for group in item.together):
            picked.add(item.value)
    return picked, negated


def parse_checklist(question: Question, raw: str, words: AnswerWords) -> ParsedAnswer:
    """The items a reply picks; ok=False with guidance when it cannot be read for sure."""
    norm = _normalise(raw)
    none = question.options[0]
    if not norm:
        return _fail(question)
    if norm in {none.title.casefold(), NONE, *none.synonyms}:
        return ParsedAnswer(ok=True, value=[NONE], display=none.title)
    if norm in words.for_value(NOT_SURE):
        return ParsedAnswer(ok=True, value=[NOT_SURE], display=NOT_SURE_TITLE)
    numbers, problem = _numbers(question, norm)
    if problem is not None:
        return _fail(question, problem)
    picked, negated = _phrases(question, norm)
    if negated:
        return _fail(question)
    if any(_pattern(word).search(norm) for word in (*words.hedges, *words.for_value(NOT_SURE))):
        return _fail(question, 'If you are not sure, type "Not sure".')
    picked |= {question.checklist_items[n - FIRST_ITEM_NUMBER].value for n in numbers if n >= FIRST_ITEM_NUMBER}
    if 1 in numbers or any(_pattern(w).search(norm) for w in (none.title.casefold(), "none")):
        if picked:
            return _fail(question, f"You picked {none.title} and something else.")
        return ParsedAnswer(ok=True, value=[NONE], display=none.title)
    if not picked:
        return _fail(question)
    value = [item.value for item in question.checklist_items if item.value in picked]
    return ParsedAnswer(ok=True, value=value, display=display(question, value))


def is_valid(question: Question, value: object) -> bool:
    """True if `value` is something parse_checklist() could have produced for `question`."""
    if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
        return False
    if value in ([NONE], [NOT_SURE]):
        return True
    order = [item.value for item in question.checklist_items]
    return all(v in order for v in value) and value == sorted(set(value), key=order.index)


def display(question: Question, value: object) -> str:
    """The picked lines in words ("None of these", "Not sure", "Liver disease; Bladder problems ...")."""
    if not isinstance(value, list):
        return ""
    if value == [NONE]:
        return question.options[0].title
    if value == [NOT_SURE]:
        return NOT_SURE_TITLE
    titles = {item.value: item.title for item in question.checklist_items}
    return "; ".join(titles.get(str(v), str(v)) for v in value)


def picked_items(value: object) -> Tuple[str, ...]:
    """The item ids a stored answer picked (none for "None of these" or "Not sure")."""
    if not isinstance(value, list) or value in ([NONE], [NOT_SURE]):
        return ()
    return tuple(str(v) for v in value)

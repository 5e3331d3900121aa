"""Re-checks stored answers before anything is decided from them.

Answers travel through a Rasa slot between turns, so a value could be changed on the way (a forged slot, an
old conversation, a bug). Only values parse_answer() could have produced for that question are kept.
"""

from __future__ import annotations

from typing import Dict, Iterator, Mapping, Optional

from bot.screening.answers import is_valid_value
from bot.screening.content import ScreeningContent
from bot.screening.content import content as default_content


class ValidAnswers(Mapping[str, object]):
    """Answers valid_answers() kept for one content. Read-only, so what was checked stays checked and the
    functions given them (decide_outcome) need not check them again."""

    __slots__ = ("_values", "_content")

    def __init__(self, values: Mapping[str, object], checked_for: ScreeningContent) -> None:
        self._values: Dict[str, object] = dict(values)
        self._content = checked_for

    def checked_for(self, content: ScreeningContent) -> bool:
        return self._content is content

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ValidAnswers({self._values!r})"


def valid_answers(answers: Optional[Mapping[str, object]], content: Optional[ScreeningContent] = None) -> ValidAnswers:
    """Only known question ids holding valid values (age kept as int), read-only."""
    content = content or default_content()
    if not isinstance(answers, Mapping):
        return ValidAnswers({}, content)
    kept: Dict[str, object] = {}
    for qid, value in answers.items():
        question = content.questions.get(qid) if isinstance(qid, str) else None
        if question is None or not is_valid_value(question, value):
            continue
        kept[qid] = int(value) if question.kind == "number" and isinstance(value, (int, float)) else value
    return ValidAnswers(kept, content)


def checked_answers(answers: Optional[Mapping[str, object]], content: ScreeningContent) -> ValidAnswers:
    """`answers` as they are when valid_answers() already checked them for `content`, else checked now."""
    if isinstance(answers, ValidAnswers) and answers.checked_for(content):
        return answers
    return valid_answers(answers, content)

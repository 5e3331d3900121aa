"""Re-checks stored answers before anything is decided from them.

Answers travel through a Rasa slot between turns, so a value could be changed on the way (a forged slot, an
old conversation, a bug). Only values parse_answer() could have produced for that question are kept.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

from bot.screening.answers import is_valid_value
from bot.screening.content import ScreeningContent, content as default_content


def valid_answers(answers: Optional[Mapping[str, object]], content: Optional[ScreeningContent] = None) -> Dict[str, object]:
    """A new dict with only known question ids holding valid values (age kept as int)."""
    content = content or default_content()
    if not isinstance(answers, Mapping):
        return {}
    kept: Dict[str, object] = {}
    for qid, value in answers.items():
        question = content.questions.get(qid) if isinstance(qid, str) else None
        if question is None or not is_valid_value(question, value):
            continue
        kept[qid] = int(value) if question.kind == "number" else value
    return kept

"""Instrument scores, recomputed from the item answers every time (never trusted from a slot)."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from bot.screening.content import Instrument, ScreeningContent
from bot.screening.content import content as default_content


def item_score(content: ScreeningContent, question_id: str, value: object) -> Optional[int]:
    question = content.questions.get(question_id)
    if question is None or not isinstance(value, str):
        return None
    option = question.option(value)
    return option.score if option else None


def instrument_score(
    instrument: Instrument, answers: Mapping[str, object], content: Optional[ScreeningContent] = None
) -> Optional[int]:
    """The total, or None until every item the visitor should answer has a valid answer.

    PC-PTSD-5: a "No" to the trauma-exposure question scores 0 and skips the items (Prins 2016).
    """
    content = content or default_content()
    if instrument.gate_id:
        gate = answers.get(instrument.gate_id)
        if gate == "no":
            return 0
        if gate != "yes":
            return None
    total = 0
    for qid in instrument.item_ids:
        score = item_score(content, qid, answers.get(qid))
        if score is None:
            return None
        total += score
    return total


def instrument_scores(answers: Mapping[str, object], content: Optional[ScreeningContent] = None) -> Dict[str, int]:
    """{"gad7": 12, ...} for every instrument fully answered."""
    content = content or default_content()
    scores: Dict[str, int] = {}
    for instrument in content.instruments:
        score = instrument_score(instrument, answers, content)
        if score is not None:
            scores[instrument.id] = score
    return scores


def risk_item_positive(answers: Mapping[str, object], content: Optional[ScreeningContent] = None) -> bool:
    """True when a risk item (PHQ-9 item 9) was answered above 0: the caller starts the risk follow-up."""
    content = content or default_content()
    for instrument in content.instruments:
        if instrument.risk_item_id:
            score = item_score(content, instrument.risk_item_id, answers.get(instrument.risk_item_id))
            if score is not None and score > 0:
                return True
    return False

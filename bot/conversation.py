"""The conversation around the screening flow: crisis follow-up first, endings, and reply routing.

`bot.screening.flow` knows the questionnaire; `bot.safety.episode` knows a crisis episode. This module decides
which of them asks next and whether a reply is an answer or an interruption (a clinic question, "stop", a
crisis...). Everything here is pure and JSON-in/JSON-out so the Rasa actions stay thin.
"""

from __future__ import annotations

from typing import Optional

from bot.safety.episode import CrisisState, followup_question
from bot.screening.flow import question_by_id
from bot.screening.model import Question, Step
from bot.screening.state import (
    CALLBACK_CONTACT_IDS,
    CALLBACK_OFFER_ID,
    CALLBACK_OFFERED,
    CALLBACK_REQUESTED,
    ScreeningState,
)

# Intents the rules in data/rules/ handle when a reply is not an answer to the question asked. Every clinic
# question is the retrieval intent `faq`; its topic (`faq/cost`, ...) matters only to the answer.
CLINIC_QUESTION_INTENT = "faq"
CONTROL_INTENTS = frozenset({"talk_to_human", "start_over", "stop", "goodbye"})
CRISIS_INTENT = "crisis"
INTERRUPTION_INTENTS = CONTROL_INTENTS | {CLINIC_QUESTION_INTENT, CRISIS_INTENT}
# A free-text question accepts anything, so only a confident interruption takes precedence over it, and a
# clinic question only when the reply is shaped like a question ("bupropion" at "What medicines do you take
# now?" is an answer, even though it looks like a medication question to the classifier).
FREE_TEXT_INTERRUPTION_CONFIDENCE = 0.8
FREE_TEXT_KINDS = frozenset({"text"})
_QUESTION_WORDS = frozenset(
    [
        "how",
        "what",
        "whats",
        "what's",
        "is",
        "are",
        "can",
        "could",
        "do",
        "does",
        "did",
        "will",
        "would",
        "should",
        "where",
        "when",
        "why",
        "who",
        "which",
        "may",
        "cuanto",
        "cuánto",
        "que",
        "qué",
        "donde",
        "dónde",
        "cuando",
        "cuándo",
        "como",
        "cómo",
        "puedo",
        "es",
        "son",
        "hay",
    ]
)


def looks_like_question(text: str) -> bool:
    words = text.strip().lower().lstrip("¿").split()
    return text.strip().endswith("?") or (bool(words) and words[0] in _QUESTION_WORDS)


def current_step(screening: ScreeningState, crisis: CrisisState) -> Optional[Step]:
    """What to ask now: the crisis follow-up while an episode is open, else the next screening question.

    Derives the screening's progress (bot.screening.flow.screening_progress) once, and only when it is needed."""
    crisis_question = followup_question(crisis)
    if crisis_question is not None:
        return Step(question=crisis_question, preface=())
    if screening.callback == CALLBACK_OFFERED:
        return Step(question=question_by_id(CALLBACK_OFFER_ID), preface=())
    if screening.callback == CALLBACK_REQUESTED:
        missing = [q for q in CALLBACK_CONTACT_IDS if q not in screening.answers]
        if missing:
            return Step(question=question_by_id(missing[0]), preface=())
    if screening.ended:
        return None
    return screening.progress(crisis.flagged).next_step


def is_answer_attempt(
    question: Question, parsed_ok: bool, intent: Optional[str], confidence: float, text: str = ""
) -> bool:
    """Should this reply be treated as an answer to `question` (True) or left to the interruption rules?

    A reply that parses as a valid answer is an answer, whatever the classifier thought ("no" is a fine
    answer even if it looked like "stop"), except that risk always interrupts outside the crisis questions.
    A reply that does not parse is an interruption only when its intent is one the rules handle; otherwise it
    stays with the question, which re-asks with guidance.
    """
    if intent == CRISIS_INTENT and question.section != "crisis":
        return False
    if question.kind in FREE_TEXT_KINDS:
        if intent not in INTERRUPTION_INTENTS or confidence < FREE_TEXT_INTERRUPTION_CONFIDENCE:
            return True
        return intent == CLINIC_QUESTION_INTENT and not looks_like_question(text)
    if parsed_ok:
        return True
    return intent not in INTERRUPTION_INTENTS

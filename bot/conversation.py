"""The conversation around the screening flow: crisis follow-up first, endings, and reply routing.

`bot.screening.flow` knows the questionnaire; `bot.safety.episode` knows a crisis episode. This module decides
which of them asks next and whether a reply is an answer or an interruption (a clinic question, "stop", a
crisis...). Everything here is pure and JSON-in/JSON-out so the Rasa actions stay thin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from bot.safety.episode import RISK_CHECK_QUESTION_ID, CrisisState, cssrs_preface, followup_question
from bot.screening.answers import format_us_phone, normalise_us_phone
from bot.screening.flow import question_by_id
from bot.screening.model import Question, Step
from bot.screening.state import (
    CALLBACK_CONTACT_IDS,
    CALLBACK_OFFER_ID,
    CALLBACK_OFFERED,
    CALLBACK_REQUESTED,
    PHONE_QUESTION_ID,
    ScreeningState,
)
from bot.screening.stop_words import is_scale_like, says_stop

# data/clinic/flow.yml: "Is {known_phone} the best number to reach you?", asked instead of the phone question
# when the channel knows the number (SMS).
KNOWN_PHONE_QUESTION_ID = "contact_phone_known"

# Intents the rules in data/rules/ handle when a reply is not an answer to the question asked. Every clinic
# question is the retrieval intent `faq`; its topic (`faq/cost`, ...) matters only to the answer.
CLINIC_QUESTION_INTENT = "faq"
# "delete_my_data" erases the conversation (rasa_ext/erasure.py), so the model alone decides it only when sure.
DELETE_INTENT = "delete_my_data"
DELETE_CONFIDENCE = 0.8
CONTROL_INTENTS = frozenset({"talk_to_human", "bot_challenge", "start_over", "stop", "goodbye", DELETE_INTENT})
CRISIS_INTENT = "crisis"
INTERRUPTION_INTENTS = CONTROL_INTENTS | {CLINIC_QUESTION_INTENT, CRISIS_INTENT}
# The intents the rule "stop during the screening" ends the questions for. The model alone never decides it
# (issue 14: "quite a bit" read as stop): see stops_the_screening().
STOP_INTENTS = frozenset({"stop", "goodbye"})
STOP_CONFIDENCE = 0.8
# A free-text question accepts anything, so only a confident interruption takes precedence over it, and a
# clinic question only when the reply is shaped like a question ("bupropion" at "What medicines do you take
# now?" is an answer, even though it looks like a medication question to the classifier).
FREE_TEXT_INTERRUPTION_CONFIDENCE = 0.8
FREE_TEXT_KINDS = frozenset({"text"})
_QUESTION_WORDS = frozenset(
    "how what whats what's is are can could do does did will would should where when why who which may "
    "cuanto cuánto que qué donde dónde cuando cuándo como cómo puedo es son hay".split()
)


def looks_like_question(text: str) -> bool:
    words = text.strip().lower().lstrip("¿").split()
    return text.strip().endswith("?") or (bool(words) and words[0] in _QUESTION_WORDS)


def usable_known_phone(phone: Optional[str]) -> Optional[str]:
    """The channel's number if the phone question would accept it (a US number in E.164), else None."""
    return phone if isinstance(phone, str) and normalise_us_phone(phone) == phone else None


def confirm_known_phone(step: Optional[Step], screening: ScreeningState, known_phone: Optional[str]) -> Optional[Step]:
    """The phone question becomes "Is <known number> the best number?" while that number is known and the
    visitor has not said No to it; any other step is left as it is."""
    phone = usable_known_phone(known_phone)
    if step is None or step.question.id != PHONE_QUESTION_ID or phone is None or screening.known_phone_declined:
        return step
    question = question_by_id(KNOWN_PHONE_QUESTION_ID)
    text = question.text.replace("{known_phone}", format_us_phone(phone))
    return Step(question=replace(question, text=text), preface=step.preface)


def current_step(screening: ScreeningState, crisis: CrisisState, known_phone: Optional[str] = None) -> Optional[Step]:
    """What to ask now: the crisis follow-up while an episode is open, else the next screening question.

    `known_phone` is the number the channel already has (SMS only): it is confirmed instead of asked for.
    Derives the screening's progress (bot.screening.flow.screening_progress) once, and only when it is needed."""
    # On SMS the episode's call-back offer confirms the number that texted instead of asking for one.
    phone = usable_known_phone(known_phone)
    crisis_question = followup_question(crisis, format_us_phone(phone) if phone else None)
    if crisis_question is not None:
        return Step(question=crisis_question, preface=cssrs_preface(crisis))
    if screening.callback == CALLBACK_OFFERED:
        return Step(question=question_by_id(CALLBACK_OFFER_ID), preface=())
    if screening.callback == CALLBACK_REQUESTED:
        missing = [q for q in CALLBACK_CONTACT_IDS if q not in screening.answers]
        if missing:
            return confirm_known_phone(Step(question=question_by_id(missing[0]), preface=()), screening, known_phone)
    if screening.ended:
        return None
    return confirm_known_phone(screening.progress(crisis.flagged).next_step, screening, known_phone)


def stops_the_screening(intent: Optional[str], confidence: float, text: str) -> bool:
    """A reply the model calls stop/goodbye ends the questions only with an explicit stop phrase ("stop",
    "can we stop", "bye"), or when the model is confident and the reply is not an attempt at a scale answer
    ("quite a bit", "3"): data/clinic/stop_words.yml."""
    if intent not in STOP_INTENTS:
        return False
    return says_stop(text) or (confidence >= STOP_CONFIDENCE and not is_scale_like(text))


def is_answer_attempt(
    question: Question, parsed_ok: bool, intent: Optional[str], confidence: float, text: str = ""
) -> bool:
    """Should this reply be treated as an answer to `question` (True) or left to the interruption rules?

    A reply that parses as a valid answer is an answer, whatever the classifier thought ("no" is a fine
    answer even if it looked like "stop"), except that risk always interrupts outside the crisis questions.
    A reply that does not parse is an interruption only when its intent is one the rules handle; otherwise it
    stays with the question, which re-asks with guidance. Every reply to the check question is an answer.
    Stop and goodbye interrupt only as stops_the_screening() allows, "delete my data" only at DELETE_CONFIDENCE
    (a typed `/delete_my_data` is 1.0: erasing one's own chat skips no question); otherwise the question re-asks.
    """
    if intent == CRISIS_INTENT and question.section != "crisis":
        return False
    if question.id == RISK_CHECK_QUESTION_ID:
        # Every reply answers the check question: a clinic question, "stop" or "idk" is not a clear No, so it
        # escalates (the reply is assessed for risk first, actions/screening_form.answer_risk_check).
        return True
    if intent in STOP_INTENTS and not stops_the_screening(intent, confidence, text):
        return True
    if intent == DELETE_INTENT and confidence < DELETE_CONFIDENCE:
        return True  # an unsure "delete" never erases a screening: the question re-asks
    if question.kind in FREE_TEXT_KINDS:
        if intent not in INTERRUPTION_INTENTS or confidence < FREE_TEXT_INTERRUPTION_CONFIDENCE:
            return True
        return intent == CLINIC_QUESTION_INTENT and not looks_like_question(text)
    if parsed_ok:
        return True
    return intent not in INTERRUPTION_INTENTS

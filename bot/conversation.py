"""The conversation around the screening flow: crisis follow-up first, endings, and reply routing.

`bot.screening.flow` knows the questionnaire; `bot.safety.episode` knows a crisis episode. This module decides
which of them asks next and whether a reply is an answer or an interruption (a clinic question, "stop", a
crisis...). Everything here is pure and JSON-in/JSON-out so the Rasa actions stay thin.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from bot.safety.episode import CrisisState, followup_question
from bot.screening.flow import next_step, question_by_id, screening_status
from bot.screening.model import Question, Step

# Intents the rules in data/rules/ handle when a reply is not an answer to the question asked.
CLINIC_QUESTION_INTENTS = frozenset(
    {
        "ask_cost",
        "ask_insurance",
        "ask_location",
        "ask_hours",
        "ask_infusion_experience",
        "ask_side_effects",
        "ask_sessions",
        "ask_safety",
        "ask_what_is_ketamine",
        "ask_about_bot",
        "ask_medications",
    }
)
CONTROL_INTENTS = frozenset({"talk_to_human", "start_over", "stop", "goodbye"})
CRISIS_INTENT = "crisis"
INTERRUPTION_INTENTS = CLINIC_QUESTION_INTENTS | CONTROL_INTENTS | {CRISIS_INTENT}
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

ENDED_STOPPED = "stopped"

# "Talk to a person" offers a call back; a yes asks just enough to call (then the screening goes on, and
# those answers are not asked again).
CALLBACK_OFFER_ID = "callback_offer"
CALLBACK_CONTACT_IDS = ("contact_first_name", "contact_phone")
CALLBACK_OFFERED = "offered"
CALLBACK_REQUESTED = "requested"
CALLBACK_SENT = "sent"


@dataclass(frozen=True)
class ScreeningState:
    """The `screening` slot: validated answers plus bookkeeping."""

    answers: Dict[str, Any] = field(default_factory=dict)
    run: int = 1
    ended: Optional[str] = None
    announced: bool = False
    callback: Optional[str] = None

    @classmethod
    def from_slot(cls, value: Any) -> "ScreeningState":
        if not isinstance(value, Mapping):
            return cls()
        answers = value.get("answers")
        return cls(
            answers=dict(answers) if isinstance(answers, Mapping) else {},
            run=int(value.get("run") or 1),
            ended=value.get("ended") if isinstance(value.get("ended"), str) else None,
            announced=bool(value.get("announced")),
            callback=value.get("callback") if isinstance(value.get("callback"), str) else None,
        )

    def to_slot(self) -> dict:
        return {
            "answers": dict(self.answers),
            "run": self.run,
            "ended": self.ended,
            "announced": self.announced,
            "callback": self.callback,
        }

    def restarted(self) -> "ScreeningState":
        return ScreeningState(answers={}, run=self.run + 1)

    def with_answers(self, answers: Dict[str, Any]) -> "ScreeningState":
        return replace(self, answers=answers)

    def callback_offered(self) -> "ScreeningState":
        """Offer a call back unless one is already on its way (or the visitor is a minor)."""
        if self.callback in (CALLBACK_REQUESTED, CALLBACK_SENT) or self.status() == "minor":
            return self
        return replace(self, callback=CALLBACK_OFFERED)

    def answer_callback_offer(self, wants_call: bool) -> "ScreeningState":
        return replace(self, callback=CALLBACK_REQUESTED if wants_call else None)

    def callback_ready(self) -> bool:
        """A call back was asked for and everything needed to make it is known: time to send it."""
        return self.callback == CALLBACK_REQUESTED and all(q in self.answers for q in CALLBACK_CONTACT_IDS)

    def callback_sent(self) -> "ScreeningState":
        return replace(self, callback=CALLBACK_SENT)

    def stopped(self) -> "ScreeningState":
        return replace(self, ended=ENDED_STOPPED)

    def status(self) -> str:
        return self.ended or screening_status(self.answers)


def current_step(screening: ScreeningState, crisis: CrisisState) -> Optional[Step]:
    """What to ask now: the crisis follow-up while an episode is open, else the next screening question."""
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
    return next_step(screening.answers, crisis_flag=crisis.flagged)


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
        return intent in CLINIC_QUESTION_INTENTS and not looks_like_question(text)
    if parsed_ok:
        return True
    return intent not in INTERRUPTION_INTENTS

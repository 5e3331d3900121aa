"""The conversation around the screening flow: crisis follow-up first, endings, and reply routing.

`bot.screening.flow` knows the questionnaire; `bot.safety.episode` knows a crisis episode. This module decides
which of them asks next and whether a reply is an answer or an interruption (a clinic question, "stop", a
crisis...). Everything here is pure and JSON-in/JSON-out so the Rasa actions stay thin.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from bot.safety.episode import CrisisState, followup_question
from bot.screening.flow import next_step, screening_status
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
    }
)
CONTROL_INTENTS = frozenset({"talk_to_human", "start_over", "stop", "goodbye"})
CRISIS_INTENT = "crisis"
INTERRUPTION_INTENTS = CLINIC_QUESTION_INTENTS | CONTROL_INTENTS | {CRISIS_INTENT}
# A free-text question accepts anything, so only a confident interruption takes precedence over it.
FREE_TEXT_INTERRUPTION_CONFIDENCE = 0.8
FREE_TEXT_KINDS = frozenset({"text"})

ENDED_STOPPED = "stopped"


@dataclass(frozen=True)
class ScreeningState:
    """The `screening` slot: validated answers plus bookkeeping."""

    answers: Dict[str, Any] = field(default_factory=dict)
    run: int = 1
    ended: Optional[str] = None
    announced: bool = False

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
        )

    def to_slot(self) -> dict:
        return {"answers": dict(self.answers), "run": self.run, "ended": self.ended, "announced": self.announced}

    def restarted(self) -> "ScreeningState":
        return ScreeningState(answers={}, run=self.run + 1)

    def stopped(self) -> "ScreeningState":
        return replace(self, ended=ENDED_STOPPED)

    def status(self) -> str:
        return self.ended or screening_status(self.answers)


def current_step(screening: ScreeningState, crisis: CrisisState) -> Optional[Step]:
    """What to ask now: the crisis follow-up while an episode is open, else the next screening question."""
    crisis_question = followup_question(crisis)
    if crisis_question is not None:
        return Step(question=crisis_question, preface=())
    if screening.ended:
        return None
    return next_step(screening.answers, crisis_flag=crisis.flagged)


def is_answer_attempt(question: Question, parsed_ok: bool, intent: Optional[str], confidence: float) -> bool:
    """Should this reply be treated as an answer to `question` (True) or left to the interruption rules?

    A reply that parses as a valid answer is an answer, whatever the classifier thought ("no" is a fine
    answer even if it looked like "stop"), except that risk always interrupts outside the crisis questions.
    A reply that does not parse is an interruption only when its intent is one the rules handle; otherwise it
    stays with the question, which re-asks with guidance.
    """
    if intent == CRISIS_INTENT and question.section != "crisis":
        return False
    if question.kind in FREE_TEXT_KINDS:
        return not (intent in INTERRUPTION_INTENTS and confidence >= FREE_TEXT_INTERRUPTION_CONFIDENCE)
    if parsed_ok:
        return True
    return intent not in INTERRUPTION_INTENTS

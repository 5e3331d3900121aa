"""The screening's state, kept in the `screening` slot: validated answers plus bookkeeping (run, ending,
call-back progress). Pure and JSON-in/JSON-out, like every state object in bot/."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from bot.screening.flow import screening_progress
from bot.screening.model import ScreeningProgress

ENDED_STOPPED = "stopped"

# "Talk to a person" offers a call back; a yes asks just enough to call (then the screening goes on, and
# those answers are not asked again).
CALLBACK_OFFER_ID = "callback_offer"
CALLBACK_CONTACT_IDS = ("contact_first_name", "contact_phone")
CALLBACK_OFFERED = "offered"
CALLBACK_REQUESTED = "requested"
CALLBACK_SENT = "sent"
# A number the channel already knows (SMS) is confirmed at this question instead of asking for one
# (data/clinic/flow.yml contact_phone_known, bot/conversation.py).
PHONE_QUESTION_ID = "contact_phone"


@dataclass(frozen=True)
class ScreeningState:
    """The `screening` slot: validated answers plus bookkeeping."""

    answers: Dict[str, Any] = field(default_factory=dict)
    run: int = 1
    ended: Optional[str] = None
    announced: bool = False
    callback: Optional[str] = None
    known_phone_declined: bool = False  # "No" to "Is <the SMS number> the best number?": ask for one

    @classmethod
    def from_slot(cls, value: Any) -> ScreeningState:
        if not isinstance(value, Mapping):
            return cls()
        answers = value.get("answers")
        return cls(
            answers=dict(answers) if isinstance(answers, Mapping) else {},
            run=int(value.get("run") or 1),
            ended=value.get("ended") if isinstance(value.get("ended"), str) else None,
            announced=bool(value.get("announced")),
            callback=value.get("callback") if isinstance(value.get("callback"), str) else None,
            known_phone_declined=bool(value.get("known_phone_declined")),
        )

    def to_slot(self) -> dict:
        return {
            "answers": dict(self.answers),
            "run": self.run,
            "ended": self.ended,
            "announced": self.announced,
            "callback": self.callback,
            "known_phone_declined": self.known_phone_declined,
        }

    def restarted(self) -> ScreeningState:
        return ScreeningState(answers={}, run=self.run + 1)

    def with_answers(self, answers: Dict[str, Any]) -> ScreeningState:
        return replace(self, answers=answers)

    def callback_offered(self) -> ScreeningState:
        """Offer a call back unless one is already on its way (or the visitor is a minor)."""
        if self.callback in (CALLBACK_REQUESTED, CALLBACK_SENT) or self.status() == "minor":
            return self
        return replace(self, callback=CALLBACK_OFFERED)

    def answer_callback_offer(self, wants_call: bool) -> ScreeningState:
        return replace(self, callback=CALLBACK_REQUESTED if wants_call else None)

    def callback_ready(self) -> bool:
        """A call back was asked for and everything needed to make it is known: time to send it."""
        return self.callback == CALLBACK_REQUESTED and all(q in self.answers for q in CALLBACK_CONTACT_IDS)

    def answer_known_phone(self, phone: Optional[str]) -> ScreeningState:
        """The reply to "Is <known number> the best number?": the number (Yes), or None (No: ask for one)."""
        if phone is None:
            return replace(self, known_phone_declined=True)
        return replace(self, answers={**self.answers, PHONE_QUESTION_ID: phone})

    def callback_sent(self) -> ScreeningState:
        return replace(self, callback=CALLBACK_SENT)

    def stopped(self) -> ScreeningState:
        return replace(self, ended=ENDED_STOPPED)

    def progress(self, crisis_flag: bool = False) -> ScreeningProgress:
        """The answers' derived state (outcome, next question, status): derive it once per turn, pass it on."""
        return screening_progress(self.answers, crisis_flag=crisis_flag)

    def status(self, progress: Optional[ScreeningProgress] = None) -> str:
        """How the screening stands: its ending if it was ended, else the status derived from the answers
        (`progress`, when the caller derived it already for these answers)."""
        if self.ended:
            return self.ended
        return (progress or self.progress()).status

"""The screening form: one data-driven validator and one ask action for every question.

Questions, options and order come from data/clinic via bot.screening; crisis follow-up questions from
bot.safety.episode. The only slot the form requests is `answer`, filled here from the raw text of the reply
to the question that was asked (never from an entity), validated, recorded and cleared again.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.crisis import escalate
from actions.state import (
    channel,
    crisis_state,
    is_fresh_reply,
    latest_intent,
    latest_risk,
    latest_text,
    screening_state,
    sms_phone,
)
from bot.conversation import KNOWN_PHONE_QUESTION_ID, current_step, is_answer_attempt, usable_known_phone
from bot.handoff.events import callback_requested, stable_event_id
from bot.privacy import PRIVACY_NOTE_LINE
from bot.safety.episode import (
    PHQ9_ITEM9_ASSESSMENT,
    PHQ9_ITEM9_CATEGORY,
    CrisisState,
    answer_followup,
    open_episode,
    resume_text,
)
from bot.safety.responses import followup_reply
from bot.screening.answers import parse_answer
from bot.screening.flow import record_answer
from bot.screening.lead import contact_summary
from bot.screening.model import ParsedAnswer, Question, Step
from bot.screening.scoring import risk_item_positive
from bot.screening.state import CALLBACK_OFFER_ID, ScreeningState

FORM_SLOT = "answer"

# In one run of the form rasa-sdk calls required_slots three times, then extract_answer and validate_answer.
# They read the step through this memo, so each state of the screening (the answers the run was given, then
# the answers it recorded) is derived once per run.
_STEPS: ContextVar[Optional[Dict[str, Optional[Step]]]] = ContextVar("screening_form_steps", default=None)


def form_step(tracker: Tracker) -> Optional[Step]:
    """current_step() for the tracker's slots; within a run of the form, derived once for each state."""
    screening, crisis, phone = screening_state(tracker), crisis_state(tracker), sms_phone(tracker)
    memo = _STEPS.get()
    if memo is None:
        return current_step(screening, crisis, phone)
    key = repr((screening, crisis, phone))
    if key not in memo:
        memo[key] = current_step(screening, crisis, phone)
    return memo[key]


def buttons_for(question: Question) -> List[Dict[str, str]]:
    # Buttons send their title as plain text, so clicking and typing are the same answer.
    return [{"title": option.title, "payload": option.title} for option in question.options]


def send_callback_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, screening: ScreeningState
) -> ScreeningState:
    """Store the call-back request for staff, then confirm it and go on with the screening."""
    lead = {"concern": screening.answers.get("concern"), "contact": contact_summary(screening.answers)}
    event = callback_requested(
        conversation_id=tracker.sender_id,
        channel=channel(tracker),
        lead=lead,
        event_id=stable_event_id(tracker.sender_id, "callback", screening.run),
    )
    if not runtime.publish_or_apologise(dispatcher, event):
        return screening
    name = runtime.first_name(screening.answers)
    dispatcher.utter_message(text=runtime.message("callback_sent", first_name=name))
    return screening.callback_sent()


def answer_crisis_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: Question,
    parsed: ParsedAnswer,
    crisis: CrisisState,
    screening: ScreeningState,
) -> tuple[CrisisState, ScreeningState]:
    """ "Are you safe right now?" / "keep going or stop?": reply, and resume or end only as the visitor chose."""
    more_risk = latest_risk(tracker)  # the reply itself, as the NLU component assessed it
    if more_risk.is_risk:  # e.g. "no, I have the pills here": same episode (no new alert), worse severity
        crisis, _ = open_episode(crisis, more_risk)
    crisis, reply_kind, stopped = answer_followup(crisis, question.id, str(parsed.value))
    if reply_kind == "resume":
        dispatcher.utter_message(text=resume_text(crisis.language))
    elif reply_kind:
        dispatcher.utter_message(text=followup_reply(reply_kind, crisis.language))
    return crisis, screening.stopped() if stopped else screening


def answer_screening_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: Question,
    parsed: ParsedAnswer,
    screening: ScreeningState,
    crisis: CrisisState,
) -> tuple[ScreeningState, CrisisState]:
    """Record a validated answer; send a call-back request once it can be made; escalate a risk item."""
    if question.id == CALLBACK_OFFER_ID:
        screening = screening.answer_callback_offer(parsed.value == "yes")
        if parsed.value != "yes":
            dispatcher.utter_message(text=runtime.message("callback_declined"))
    elif question.id == KNOWN_PHONE_QUESTION_ID:
        screening = screening.answer_known_phone(
            usable_known_phone(sms_phone(tracker)) if parsed.value == "yes" else None
        )
    else:
        screening = screening.with_answers(record_answer(screening.answers, question, parsed))
    if screening.callback_ready():
        screening = send_callback_request(dispatcher, tracker, screening)
    # A risk item (PHQ-9 item 9) answered above "Not at all" opens a crisis episode (data/clinic/instruments.yml).
    if risk_item_positive({question.id: parsed.value}):
        crisis = escalate(
            dispatcher,
            tracker,
            crisis,
            PHQ9_ITEM9_ASSESSMENT,
            trigger_text=f"PHQ-9 item 9 answered: {parsed.display}",
            extra_categories=(PHQ9_ITEM9_CATEGORY,),
        )
    return screening, crisis


class ValidateScreeningForm(FormValidationAction):
    def name(self) -> str:
        return "validate_screening_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        steps = _STEPS.set({})
        try:
            return await super().run(dispatcher, tracker, domain)
        finally:
            _STEPS.reset(steps)

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        return [FORM_SLOT] if form_step(tracker) is not None else []

    async def extract_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        # Only a reply to a question we asked counts: not the message that started the form.
        if (
            tracker.get_slot("requested_slot") != FORM_SLOT
            or tracker.active_loop_name != "screening_form"
            or not is_fresh_reply(tracker)
        ):
            return {}
        step = form_step(tracker)
        if step is None:
            return {}
        text = latest_text(tracker)
        intent, confidence = latest_intent(tracker)
        parsed = parse_answer(step.question, text)
        if not is_answer_attempt(step.question, parsed.ok, intent, confidence, text):
            return {}  # the form rejects; a rule for the interruption takes over, then the question is asked again
        return {FORM_SLOT: text}

    async def validate_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        screening = screening_state(tracker)
        crisis = crisis_state(tracker)
        step = form_step(tracker)
        if step is None or not isinstance(value, str):
            return {FORM_SLOT: None}
        question = step.question
        parsed = parse_answer(question, value)
        if not parsed.ok:
            dispatcher.utter_message(text=f"{runtime.message('reask_prefix')} {parsed.error}".strip())
            return {FORM_SLOT: None}

        if question.section == "crisis":
            crisis, screening = answer_crisis_question(dispatcher, tracker, question, parsed, crisis, screening)
        else:
            screening, crisis = answer_screening_question(dispatcher, tracker, question, parsed, screening, crisis)
        return {FORM_SLOT: None, "screening": screening.to_slot(), "crisis": crisis.to_slot()}


class ActionAskAnswer(Action):
    """Asks the current question: its preface the first time, then the question with its options."""

    def name(self) -> str:
        return "action_ask_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        step = current_step(screening_state(tracker), crisis_state(tracker), sms_phone(tracker))
        if step is None:
            return []
        question = step.question
        if tracker.get_slot("last_asked") != question.id:
            for line in step.preface:
                # The privacy note carries this deployment's retention periods, so it is filled in here.
                dispatcher.utter_message(text=runtime.privacy_note() if line == PRIVACY_NOTE_LINE else line)
        dispatcher.utter_message(text=question.text, buttons=buttons_for(question))
        return [SlotSet("last_asked", question.id)]

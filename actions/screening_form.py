"""The screening form: one data-driven validator and one ask action for every question.

Questions, options and order come from data/clinic via bot.screening; crisis follow-up questions from
bot.safety.episode. The only slot the form requests is `answer`, filled here from the raw text of the reply
to the question that was asked (never from an entity), validated, recorded and cleared again.
"""

from __future__ import annotations

import unicodedata
from contextvars import ContextVar
from typing import Any, Dict, List, Mapping, Optional, Sequence

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.crisis import (
    acknowledge_misunderstanding,
    escalate,
    escalate_after_check,
    is_misunderstanding,
    publish_alert,
    reply_risk,
    staff_now,
)
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
from bot.channels import sms
from bot.conversation import KNOWN_PHONE_QUESTION_ID, current_step, is_answer_attempt, usable_known_phone
from bot.handoff.events import callback_requested, stable_event_id
from bot.privacy import PRIVACY_NOTE_LINE
from bot.safety.detector import RiskAssessment
from bot.safety.episode import (
    CALLBACK_PHONE_QUESTION_ID,
    CHECK_IN_QUESTION_ID,
    PHQ9_ITEM9_ASSESSMENT,
    PHQ9_ITEM9_CATEGORY,
    RISK_CHECK_QUESTION_ID,
    CrisisState,
    FollowupOutcome,
    answer_followup,
    callback_done,
    callback_withdrawn,
    check_denied,
    check_in_reply,
    resume_text,
)
from bot.safety.episode_words import (
    asks_to_resume,
    asks_to_stop,
    is_clear_check_no,
    is_clear_not_at_all,
    withdraws_callback,
)
from bot.safety.responses import episode_text, followup_reply
from bot.screening.answers import parse_answer
from bot.screening.content import content as screening_content
from bot.screening.flow import record_answer
from bot.screening.lead import contact_summary
from bot.screening.model import AMBIGUOUS, INVALID, ParsedAnswer, Question, Step
from bot.screening.scoring import item_score, risk_item_positive
from bot.screening.state import CALLBACK_OFFER_ID, ScreeningState

FORM_SLOT = "answer"
# Metadata of a re-ask that listed a question's options with numbers ("Reply 1 for Not at all, ..."): the id of
# that question. The reply to it may then pick an option by its number (bot.screening.answers.parse_answer).
NUMBERED_OPTIONS_KEY = "numbered_options"

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


def numbered_reask_before_reply(events: Sequence[Mapping[str, Any]], question_id: str) -> bool:
    """True when a bot message between the visitor's previous message and their latest one listed this
    question's options with numbers (NUMBERED_OPTIONS_KEY). A re-ask after an interruption lists them without
    numbers again, so a number typed then is asked about again."""
    replied = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if replied:
                return False
            replied = True
        elif kind == "bot" and replied and (event.get("metadata") or {}).get(NUMBERED_OPTIONS_KEY) == question_id:
            return True
    return False


def numbers_shown(tracker: Tracker, question: Question) -> bool:
    """Did the message the visitor replied to show this question's options with numbers?"""
    if question.kind != "choice":
        return False
    if channel(tracker) == sms.CHANNEL_NAME:
        return True  # SMS shows every button list numbered (bot.channels.sms.options_line)
    return numbered_reask_before_reply(tracker.events, question.id)


def parse_reply(tracker: Tracker, question: Question, text: str) -> ParsedAnswer:
    return parse_answer(question, text, numbers_shown=numbers_shown(tracker, question))


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


_EPISODE_REPLIES = ("cssrs_high", "cssrs_positive", "cssrs_negative", "callback_declined")


def send_crisis_callback(
    dispatcher: CollectingDispatcher, tracker: Tracker, before: CrisisState, outcome: FollowupOutcome
) -> CrisisState:
    """The visitor agreed to a call back inside an episode: a new crisis.alert carrying the number
    (`callback_requested: true`, docs/events.md), then a truthful word on when the team will call."""
    crisis, stored = publish_alert(
        tracker, before, outcome.state, outcome.alert or "callback_requested", trigger_text="", callback_requested=True
    )
    language = crisis.language
    if not stored:
        dispatcher.utter_message(text=episode_text("callback_failed", language, phone=runtime.clinic().phone))
        return callback_done(crisis)
    staff = staff_now(language)
    if staff.open_now:
        dispatcher.utter_message(text=episode_text("callback_sent", language))
    else:
        dispatcher.utter_message(
            text=episode_text("callback_sent_closed", language, next_open=staff.next_open or "next")
        )
    return callback_done(crisis)


def answer_crisis_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: Question,
    parsed: ParsedAnswer,
    crisis: CrisisState,
    screening: ScreeningState,
) -> tuple[CrisisState, ScreeningState]:
    """A reply to a crisis question. The message is assessed first: risk in it overrides whatever it parses
    as ("yeah i'm safe for now but the pills are right next to me" is risk, never "glad you are safe"). Then a
    misunderstanding is answered; then the answer leads where the visitor chose (bot/safety/episode.py)."""
    text = latest_text(tracker)
    detected = latest_risk(tracker)  # the reply itself, as the NLU component assessed it
    risk = reply_risk(tracker, crisis, detected)
    if question.id == RISK_CHECK_QUESTION_ID:
        return answer_risk_check(dispatcher, tracker, question, parsed, crisis, risk, text), screening
    if risk is not None:
        return escalate(dispatcher, tracker, crisis, risk, trigger_text=text), screening
    if is_misunderstanding(text, crisis, detected):
        return acknowledge_misunderstanding(dispatcher, tracker, crisis, text), screening
    if question.id == CHECK_IN_QUESTION_ID:
        outcome = check_in_reply(crisis, asks_to_resume(text), asks_to_stop(text))
    elif question.id == CALLBACK_PHONE_QUESTION_ID and not parsed.ok and withdraws_callback(text):
        outcome = callback_withdrawn(crisis)
    elif not parsed.ok:
        dispatcher.utter_message(text=f"{runtime.message('reask_prefix')} {parsed.error}".strip())
        return crisis, screening
    else:
        known = usable_known_phone(sms_phone(tracker))
        outcome = answer_followup(crisis, question.id, str(parsed.value), known_phone=known)
    language = outcome.state.language
    if outcome.reply == "callback_send":
        return send_crisis_callback(dispatcher, tracker, crisis, outcome), screening
    if outcome.reply == "resume":
        dispatcher.utter_message(text=resume_text(language))
    elif outcome.reply in ("safe_now", "unsafe_now", "not_sure_now"):
        dispatcher.utter_message(text=followup_reply(outcome.reply, language, staff=staff_now(language)))
    elif outcome.reply in _EPISODE_REPLIES:
        dispatcher.utter_message(text=episode_text(outcome.reply, language))
    new_crisis = outcome.state
    if outcome.alert:
        new_crisis, _ = publish_alert(tracker, crisis, outcome.state, outcome.alert, trigger_text=text)
    return new_crisis, screening.stopped() if outcome.stopped else screening


def answer_risk_check(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: Question,
    parsed: ParsedAnswer,
    crisis: CrisisState,
    risk: Optional[RiskAssessment],
    text: str,
) -> CrisisState:
    """The reply to the check question (only the model flagged the message before). Risk in it, Yes, Not sure
    or anything but a clear No: the full escalation. A typed `/intent{...}` payload answers nothing: asked
    again. A clear No: a warm word with 988, and the screening resumes where it was."""
    if risk is None and parsed.reason == INVALID and is_typed_payload(text):
        dispatcher.utter_message(text=f"{runtime.message('reask_prefix')} {question.guidance}".strip())
        return crisis
    if risk is None and (is_clear_check_no(text) or is_numbered_no(tracker, question, text)):
        dispatcher.utter_message(text=episode_text("risk_denied", crisis.language))
        return check_denied(crisis)
    return escalate_after_check(dispatcher, tracker, crisis, risk, text)


def is_typed_payload(text: str) -> bool:
    return unicodedata.normalize("NFKC", text).strip().startswith("/")


def is_numbered_no(tracker: Tracker, question: Question, text: str) -> bool:
    """On SMS (numbered lists) the No option's number is a clear No too."""
    positions = {str(i): o.value for i, o in enumerate(question.options, start=1)}
    return numbers_shown(tracker, question) and positions.get(text.strip().strip(".")) == "no"


def is_risk_item(question_id: str) -> bool:
    return any(i.risk_item_id == question_id for i in screening_content().instruments)


def vague_risk_item_reply(question: Question, parsed: ParsedAnswer, text: str) -> bool:
    """At PHQ-9 item 9, a reply that is neither a clear "Not at all" nor a scored option above it ("rarely",
    "not really", "idk", "sometimes"): positive for safety, but no score is recorded for it."""
    if not is_risk_item(question.id):
        return False
    if parsed.ok:
        score = item_score(screening_content(), question.id, parsed.value)
        return score == 0 and not (is_clear_not_at_all(text) or is_chosen_option(question, parsed, text))
    return True


def is_chosen_option(question: Question, parsed: ParsedAnswer, text: str) -> bool:
    """The reply is the option itself: its button title, or its number in the list (SMS shows numbered lists)."""
    reply = " ".join(text.lower().split()).strip(" .")
    for position, option in enumerate(question.options, start=1):
        if option.value == parsed.value:
            return reply in (option.title.lower(), str(position))
    return False


def escalate_vague_risk_item(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, crisis: CrisisState
) -> CrisisState:
    """Open an episode for a vague item 9 reply (the C-SSRS follows once they say they are safe); item 9 stays
    unanswered, so it is asked again with its options if the screening resumes."""
    return escalate(
        dispatcher,
        tracker,
        crisis,
        PHQ9_ITEM9_ASSESSMENT,
        trigger_text=f"PHQ-9 item 9 answered: {text}",
        extra_categories=(PHQ9_ITEM9_CATEGORY,),
    )


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


def reask_options(dispatcher: CollectingDispatcher, question: Question, parsed: ParsedAnswer) -> None:
    """The guidance for a reply that was not an answer. A numbered one ("Which one did you mean? Reply 1 for
    ...") is marked with the question's id, so the next reply may answer it with a number."""
    if parsed.numbered:
        dispatcher.utter_message(text=parsed.error, **{NUMBERED_OPTIONS_KEY: question.id})
    else:
        dispatcher.utter_message(text=f"{runtime.message('reask_prefix')} {parsed.error}".strip())


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
        parsed = parse_reply(tracker, step.question, text)
        # An ambiguous reply ("3", "hardly ever") answers this question, only not clearly: it is asked about
        # (validate_answer), whatever the classifier made of it, except that risk still interrupts.
        addresses_question = parsed.ok or parsed.reason == AMBIGUOUS
        if not is_answer_attempt(step.question, addresses_question, intent, confidence, text):
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
        parsed = parse_reply(tracker, question, value)
        if question.section == "crisis":
            # Assessed before it is read as an answer, whether it parses or not (answer_crisis_question).
            crisis, screening = answer_crisis_question(dispatcher, tracker, question, parsed, crisis, screening)
            return {FORM_SLOT: None, "screening": screening.to_slot(), "crisis": crisis.to_slot()}
        if crisis.cssrs_result is None and vague_risk_item_reply(question, parsed, value):
            crisis = escalate_vague_risk_item(dispatcher, tracker, value, crisis)
            return {FORM_SLOT: None, "screening": screening.to_slot(), "crisis": crisis.to_slot()}
        if not parsed.ok:
            reask_options(dispatcher, question, parsed)
            return {FORM_SLOT: None}
        if is_risk_item(question.id) and vague_risk_item_reply(question, parsed, value):
            # After the C-SSRS, a vague item 9 is asked again with its options: no score is guessed.
            dispatcher.utter_message(text=f"{runtime.message('reask_prefix')} {question.guidance}".strip())
            return {FORM_SLOT: None}
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

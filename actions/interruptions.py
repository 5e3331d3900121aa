"""Interruptions that work at any question: clinic questions, a person, start over, stop, delete my data."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.staff_hours import staff_now
from actions.state import crisis_state, latest_intent, latest_text, screening_state
from bot.clinic import faq_answer
from bot.conversation import CLINIC_QUESTION_INTENT
from bot.language import is_spanish, load_spanish_check, spanish_notice
from bot.opening import misread_clinic_question
from bot.privacy import ERASED_AFTER_ALERT, erasure_message_key
from bot.safety.episode import CrisisState
from bot.safety.responses import episode_text
from bot.screening.state import CALLBACK_SENT, ScreeningState


def selected_faq_topic(parse_data: Mapping[str, Any]) -> Optional[str]:
    """The clinic-profile FAQ topic of a parsed message: "cost" when the response selector picked `faq/cost`.

    The response selector trained for the `faq` retrieval intent puts its pick under
    `response_selector.faq.response.intent_response_key`; Rasa copies it to `intent.full_retrieval_intent_name`
    when the intent is `faq`. None when neither names a `faq/...` topic.
    """
    selector = (parse_data.get("response_selector") or {}).get(CLINIC_QUESTION_INTENT) or {}
    key = (selector.get("response") or {}).get("intent_response_key") or (
        (parse_data.get("intent") or {}).get("full_retrieval_intent_name")
    )
    prefix = CLINIC_QUESTION_INTENT + "/"
    if isinstance(key, str) and key.startswith(prefix):
        return key[len(prefix) :]
    return None


def selected_faq_confidence(parse_data: Mapping[str, Any]) -> float:
    """The response selector's confidence in the topic it picked (0 when it picked none)."""
    selector = (parse_data.get("response_selector") or {}).get(CLINIC_QUESTION_INTENT) or {}
    confidence = (selector.get("response") or {}).get("confidence")
    return float(confidence) if isinstance(confidence, (int, float)) else 0.0


def spanish_notice_for(text: str) -> Optional[str]:
    """The Spanish note (we chat in English for now, the clinic's phone, the Spanish crisis lines) for a
    message written in Spanish; None for any other message."""
    check = load_spanish_check()
    return spanish_notice(check, runtime.clinic().phone) if is_spanish(text, check) else None


class ActionReplyBeforeScreening(Action):
    """Before the screening starts from an ordinary message (bot/opening.py): a message in Spanish is told, in
    Spanish, that we chat in English for now; a clinic question the classifier misread gets its answer. Any
    other message gets nothing here: the introduction and consent follow."""

    def name(self) -> str:
        return "action_reply_before_screening"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        text = latest_text(tracker)
        notice = spanish_notice_for(text)
        if notice:
            dispatcher.utter_message(text=notice)
            return []
        parse_data = tracker.latest_message or {}
        topic = selected_faq_topic(parse_data)
        intent, _ = latest_intent(tracker)
        if topic and misread_clinic_question(intent, text, topic, selected_faq_confidence(parse_data)):
            dispatcher.utter_message(text=faq_answer(topic, runtime.clinic()))
        return []


class ActionAnswerClinicQuestion(Action):
    def name(self) -> str:
        return "action_answer_clinic_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        # A question in Spanish gets the Spanish note (with the clinic's phone), not an English answer. A topic
        # the profile does not answer (or no topic at all) gets the profile's kind "call us" text.
        notice = spanish_notice_for(latest_text(tracker))
        topic = selected_faq_topic(tracker.latest_message or {}) or ""
        answer = notice or faq_answer(topic, runtime.clinic())
        crisis = crisis_state(tracker)
        if crisis.open:  # inside a crisis episode the answer keeps 988 in view
            answer = f"{answer} {episode_text('faq_988', crisis.language)}"
        dispatcher.utter_message(text=answer)
        # The question is asked again in full (without its preface) after the answer.
        return [SlotSet("answer", None)]


class ActionTalkToHuman(Action):
    def name(self) -> str:
        return "action_talk_to_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        # "hablan español?" reads as a request for a person: the Spanish note carries the clinic's phone, and the
        # form goes on where it was (the introduction and consent, in English, for a first message).
        notice = spanish_notice_for(latest_text(tracker))
        if notice:
            dispatcher.utter_message(text=notice)
            return [SlotSet("answer", None)]
        dispatcher.utter_message(text=runtime.message("talk_to_human"))
        # The form asks next whether they want a call back, then goes on where it was.
        return [SlotSet("answer", None), SlotSet("screening", screening_state(tracker).callback_offered().to_slot())]


class ActionStartOver(Action):
    def name(self) -> str:
        return "action_start_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=runtime.message("start_over"))
        # The crisis slot is kept on purpose: an open episode is still asked about first, and a later lead
        # still carries the flag.
        return [
            SlotSet("screening", screening_state(tracker).restarted().to_slot()),
            SlotSet("answer", None),
            SlotSet("last_asked", None),
            SlotSet("lead_id", None),
        ]


def stop_message_key(screening: ScreeningState, crisis: CrisisState) -> str:
    """What "stop" says: never that nothing was sent when a crisis alert or a call-back request went out."""
    if crisis.flagged:
        return "stopped_after_alert"
    if screening.callback == CALLBACK_SENT:
        return "stopped_after_callback"
    return "stopped"


class ActionStop(Action):
    def name(self) -> str:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        screening = screening_state(tracker)
        key = stop_message_key(screening, crisis_state(tracker))
        staff = staff_now() if key == "stopped_after_alert" else None
        if staff is not None and not staff.open_now:
            # Outside opening hours nobody is watching: say when the team will see the note.
            text = runtime.message("stopped_after_alert_closed", next_open=staff.next_open or "next")
        else:
            text = runtime.message(key)
        dispatcher.utter_message(text=text)
        return [
            SlotSet("screening", replace(screening.stopped(), announced=True).to_slot()),
            SlotSet("answer", None),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
        ]


class ActionDeleteMyData(Action):
    """Says what is erased and what is not; the tracker store then deletes the conversation instead of saving it
    (rasa_ext/erasure.py: it looks for this action among the turn's events), so the next message starts fresh."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        crisis = crisis_state(tracker)
        key = erasure_message_key(screening_state(tracker), crisis, bool(tracker.get_slot("lead_id")))
        text = runtime.message(key)
        if key == ERASED_AFTER_ALERT and crisis.language != "en":
            text = f"{text} {episode_text('faq_988', crisis.language)}"  # the crisis lines in their language too
        dispatcher.utter_message(text=text)
        return [SlotSet("answer", None), SlotSet("requested_slot", None), ActiveLoop(None)]


class ActionDefaultFallback(Action):
    """Rasa's core fallback: never a dead end; the visitor hears how to go on."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=runtime.message("fallback"))
        return []

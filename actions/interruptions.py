"""Interruptions that work at any question: clinic questions, a person, start over, stop."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.state import latest_intent, screening_state
from bot.clinic import faq_answer

# Intent name -> clinic profile FAQ topic.
FAQ_TOPIC_BY_INTENT = {
    "ask_cost": "cost",
    "ask_insurance": "insurance",
    "ask_location": "location",
    "ask_hours": "hours",
    "ask_infusion_experience": "infusion_experience",
    "ask_side_effects": "side_effects",
    "ask_sessions": "sessions",
    "ask_safety": "safety",
    "ask_what_is_ketamine": "what_is_ketamine",
    "ask_about_bot": "about_bot",
    "ask_medications": "medications",
}


class ActionAnswerClinicQuestion(Action):
    def name(self) -> Text:
        return "action_answer_clinic_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent, _ = latest_intent(tracker)
        topic = FAQ_TOPIC_BY_INTENT.get(intent or "", "about_bot")
        dispatcher.utter_message(text=faq_answer(topic, services.clinic()))
        # The question is asked again in full (without its preface) after the answer.
        return [SlotSet("answer", None)]


class ActionTalkToHuman(Action):
    def name(self) -> Text:
        return "action_talk_to_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=services.message("talk_to_human"))
        # The form asks next whether they want a call back, then goes on where it was.
        return [SlotSet("answer", None), SlotSet("screening", screening_state(tracker).callback_offered().to_slot())]


class ActionStartOver(Action):
    def name(self) -> Text:
        return "action_start_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=services.message("start_over"))
        # The crisis slot is kept on purpose: an open episode is still asked about first, and a later lead
        # still carries the flag.
        return [
            SlotSet("screening", screening_state(tracker).restarted().to_slot()),
            SlotSet("answer", None),
            SlotSet("last_asked", None),
            SlotSet("lead_id", None),
        ]


class ActionStop(Action):
    def name(self) -> Text:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        screening = screening_state(tracker)
        dispatcher.utter_message(text=services.message("stopped"))
        return [
            SlotSet("screening", replace(screening.stopped(), announced=True).to_slot()),
            SlotSet("answer", None),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
        ]


class ActionDefaultFallback(Action):
    """Rasa's core fallback: never a dead end; the visitor hears how to go on."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=services.message("fallback"))
        return []

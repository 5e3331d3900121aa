"""The end of a screening: the lead goes to the durable outbox, then the visitor hears what happens next."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.state import channel, crisis_state, screening_state
from bot.handoff.events import lead_created, stable_event_id
from bot.screening.lead import lead_from_progress

# Endings that tell the visitor something final, by screening status.
_ENDING_MESSAGES = {
    "declined": "declined",
    "minor": "minor",
    "no_contact": "finished_no_contact",
    "stopped": "stopped",
}


class ActionFinishScreening(Action):
    def name(self) -> str:
        return "action_finish_screening"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        screening, crisis = screening_state(tracker), crisis_state(tracker)
        progress = screening.progress(crisis.flagged)  # derived once: the status and the lead both read it
        status = screening.status(progress)
        if screening.announced or tracker.get_slot("lead_id"):
            done = tracker.get_slot("lead_id") or status in ("complete", "no_contact")
            dispatcher.utter_message(text=runtime.message("already_done" if done else "ended"))
            return []
        events: List[Dict[str, Any]] = [SlotSet("screening", replace(screening, announced=True).to_slot())]
        if status == "complete":  # every question answered and an explicit yes to being contacted
            lead = lead_from_progress(progress, crisis=crisis.lead_flag())
            event = lead_created(
                conversation_id=tracker.sender_id,
                channel=channel(tracker),
                lead=lead,
                event_id=stable_event_id(tracker.sender_id, "lead", screening.run),
            )
            if not runtime.publish_or_apologise(dispatcher, event):
                return []  # not announced: the next message tries again
            name = runtime.first_name(screening.answers)
            dispatcher.utter_message(text=runtime.message("finished_with_lead", first_name=name))
            return events + [SlotSet("lead_id", event["id"])]
        key = _ENDING_MESSAGES.get(status, "finished_no_contact")
        if crisis.flagged and status != "minor":
            # After a crisis alert: the crisis resources and the call-back offer, never "we won't contact you".
            key = "finished_after_alert"
        dispatcher.utter_message(text=runtime.message(key))
        return events

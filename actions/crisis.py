"""Crisis escalation: the reply (988, 741741, 911), one staff alert per episode, and the episode state."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.state import channel, crisis_state, latest_risk, latest_text, screening_state, sms_phone
from bot.handoff.events import crisis_alert, stable_event_id
from bot.safety.detector import RiskAssessment
from bot.safety.episode import MODEL_ONLY_ASSESSMENT, CrisisState, open_episode
from bot.safety.responses import crisis_reply, fallback_reply
from bot.screening.lead import contact_summary

logger = logging.getLogger(__name__)


def _reply(assessment: RiskAssessment, repeat: bool) -> str:
    # The crisis reply must never be lost to a bug: a plain fallback (which itself never fails) instead.
    try:
        return crisis_reply(assessment, repeat=repeat)
    except Exception:
        logger.error("crisis reply failed; sent the fallback", exc_info=True)
        return fallback_reply(getattr(assessment, "language", "en"))


def contact_for_alert(tracker: Tracker) -> Dict[str, Any]:
    """Whatever contact is known: answers given so far, and on SMS the number that texted (from the
    message's metadata: the conversation id is a keyed hash of it), so staff can reach the person."""
    contact = dict(contact_summary(screening_state(tracker).answers))
    phone = sms_phone(tracker)
    if phone:
        contact.setdefault("phone", phone)
    return contact


def escalate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    state: CrisisState,
    assessment: RiskAssessment,
    *,
    trigger_text: str,
    extra_categories: Tuple[str, ...] = (),
) -> CrisisState:
    """Reply with crisis resources first, then alert staff once per episode. Returns the new state."""
    new_state, new_episode = open_episode(state, assessment, extra_categories)
    dispatcher.utter_message(text=_reply(assessment, repeat=not new_episode))
    if new_episode:
        event = crisis_alert(
            conversation_id=tracker.sender_id,
            channel=channel(tracker),
            severity=new_state.severity or "high",
            categories=list(new_state.categories),
            message=trigger_text,
            contact=contact_for_alert(tracker),
            event_id=stable_event_id(tracker.sender_id, "crisis", new_state.episodes),
        )
        runtime.publish(event)
    return new_state


class ActionCrisisResponse(Action):
    def name(self) -> str:
        return "action_crisis_response"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        text = latest_text(tracker)
        assessment = latest_risk(tracker)
        if not assessment.is_risk:
            assessment = MODEL_ONLY_ASSESSMENT
        state = escalate(dispatcher, tracker, crisis_state(tracker), assessment, trigger_text=text)
        return [SlotSet("crisis", state.to_slot()), SlotSet("answer", None)]

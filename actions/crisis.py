"""Crisis escalation: the reply (988, 741741, 911), a staff alert on every rise, and the episode state."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.interruptions import selected_faq_topic
from actions.staff_hours import staff_now
from actions.state import channel, crisis_state, latest_intent, latest_risk, latest_text, screening_state, sms_phone
from bot.clinic import faq_answer
from bot.clinic_hours import StaffAvailability
from bot.conversation import CRISIS_INTENT, looks_like_question
from bot.handoff.events import crisis_alert, stable_event_id
from bot.safety.detector import RiskAssessment
from bot.safety.episode import (
    MODEL_ONLY_ASSESSMENT,
    CrisisState,
    FollowupOutcome,
    alert_reason,
    alert_sent,
    can_ask_check,
    check_alert_message,
    misunderstanding,
    open_episode,
    start_check,
)
from bot.safety.episode_words import episode_risk, likely_language, says_misunderstanding
from bot.safety.parse_data import crisis_level_from_parse_data
from bot.safety.responses import crisis_reply, episode_text, fallback_reply
from bot.safety.signals import LEVEL_CHECK
from bot.screening.lead import contact_summary

logger = logging.getLogger(__name__)


def _reply(assessment: RiskAssessment, repeat: bool, staff: StaffAvailability) -> str:
    # The crisis reply must never be lost to a bug: a plain fallback (which itself never fails) instead.
    try:
        return crisis_reply(assessment, repeat=repeat, staff=staff)
    except Exception:
        logger.error("crisis reply failed; sent the fallback", exc_info=True)
        return fallback_reply(getattr(assessment, "language", "en"))


def contact_for_alert(tracker: Tracker, state: Optional[CrisisState] = None) -> Dict[str, Any]:
    """Whatever contact is known: answers given so far, on SMS the number that texted (from the message's
    metadata: the conversation id is a keyed hash of it), and a number left for the episode's call back."""
    contact = dict(contact_summary(screening_state(tracker).answers))
    if state is not None and state.callback_phone:
        contact["phone"] = state.callback_phone
    phone = sms_phone(tracker)
    if phone:
        contact.setdefault("phone", phone)
    return contact


def model_only(language: str) -> RiskAssessment:
    """Only the trained model flagged it: category "unspecified", in the visitor's language."""
    return replace(MODEL_ONLY_ASSESSMENT, language=language if language in ("en", "es") else "en")


def reply_risk(tracker: Tracker, state: CrisisState, detected: RiskAssessment) -> Optional[RiskAssessment]:
    """The risk a message carries, or None. Every message is assessed: the detector (`detected`, from the NLU
    component), inside an episode (or in reply to the check question) also the episode's own words ("the pills
    are right next to me"), and the trained model's flag (the component set the intent to crisis). A missed
    crisis is the worst failure, so any one of them counts."""
    if detected.is_risk:
        return detected
    in_context = episode_risk(latest_text(tracker))
    if in_context is not None and (state.open or state.check_pending):
        return in_context
    intent, _ = latest_intent(tracker)
    if intent != CRISIS_INTENT:
        return None
    # Outside an episode the episode's words count together with the model's flag: a plan or means, not
    # "unspecified" ("i already decided i'm doing it this weekend", issue 8).
    return in_context or model_only(state.language)


def publish_alert(
    tracker: Tracker,
    before: CrisisState,
    state: CrisisState,
    reason: str,
    *,
    trigger_text: str,
    callback_requested: Optional[bool] = None,
) -> Tuple[CrisisState, bool]:
    """Store a new crisis.alert for `state` (signed and sent first by the deliverer). Its id is stable for the
    sequence number, so an action that runs twice enqueues it once. Returns the state and whether it was stored."""
    sequence = state.alerts + 1
    event = crisis_alert(
        conversation_id=tracker.sender_id,
        channel=channel(tracker),
        severity=state.severity or "high",
        categories=list(state.categories),
        message=trigger_text,
        contact=contact_for_alert(tracker, state),
        event_id=stable_event_id(tracker.sender_id, "crisis", sequence),
        sequence=sequence,
        reason=reason,
        previous_severity=before.alerted_severity,
        cssrs=state.cssrs_result,
        callback_requested=callback_requested,
    )
    if not runtime.publish(event):
        return state, False  # not counted: the next change alerts again
    return alert_sent(state), True


def escalate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    state: CrisisState,
    assessment: RiskAssessment,
    *,
    trigger_text: str,
    extra_categories: Tuple[str, ...] = (),
) -> CrisisState:
    """Reply with crisis resources first, then alert staff on a new episode, on every rise (a higher severity
    or a new category) and on any risky reply not said before (`risk_in_reply`). Returns the new state (asking
    "Are you safe right now?" next)."""
    new_state, new_episode = open_episode(state, assessment, extra_categories, text=latest_text(tracker))
    reason = alert_reason(state, new_state)
    staff = staff_now(new_state.language)
    # The full reply for anything new (its opening fits the new risk); the short one for more of the same.
    dispatcher.utter_message(text=_reply(assessment, repeat=reason is None, staff=staff))
    if reason is not None:
        new_state, _ = publish_alert(tracker, state, new_state, reason, trigger_text=trigger_text)
    return new_state


def escalate_after_check(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    state: CrisisState,
    assessment: Optional[RiskAssessment],
    reply: str,
) -> CrisisState:
    """The reply to the check question was risk, a Yes, a Not sure or anything but a clear No: the full crisis
    reply and a staff alert (`check_confirmed`) carrying both the flagged message and the reply."""
    return escalate(
        dispatcher,
        tracker,
        state,
        assessment or model_only(state.language),
        trigger_text=check_alert_message(state.check_message, reply),
    )


def acknowledge_misunderstanding(
    dispatcher: CollectingDispatcher, tracker: Tracker, state: CrisisState, text: str
) -> CrisisState:
    """ "That's not what I meant": a warm answer with 988 in view, and staff told (the flag stays)."""
    outcome: FollowupOutcome = misunderstanding(state)
    dispatcher.utter_message(text=episode_text("misunderstanding", state.language))
    new_state, _ = publish_alert(tracker, state, outcome.state, outcome.alert or "", trigger_text=text)
    return new_state


def is_misunderstanding(text: str, state: CrisisState, detected: RiskAssessment) -> bool:
    """Inside an episode (or after one), a reply that says we got it wrong and carries no risk of its own."""
    return state.flagged and not detected.is_risk and episode_risk(text) is None and says_misunderstanding(text)


class ActionCrisisResponse(Action):
    def name(self) -> str:
        return "action_crisis_response"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        text = latest_text(tracker)
        state = crisis_state(tracker)
        detected = latest_risk(tracker)  # once: without parse data it runs the detector
        if is_misunderstanding(text, state, detected):
            state = acknowledge_misunderstanding(dispatcher, tracker, state, text)
            return [SlotSet("crisis", state.to_slot()), SlotSet("answer", None)]
        topic = selected_faq_topic(tracker.latest_message or {})
        if state.open and not detected.is_risk and episode_risk(text) is None and topic and looks_like_question(text):
            # Only the model flagged a clinic question asked inside an episode: the answer, with 988 in view.
            answer = faq_answer(topic, runtime.clinic())
            dispatcher.utter_message(text=f"{answer} {episode_text('faq_988', state.language)}")
            return [SlotSet("answer", None)]
        if state.check_pending:
            # The reply to the check question came here (it was flagged itself): risk first, full escalation.
            state = escalate_after_check(dispatcher, tracker, state, reply_risk(tracker, state, detected), text)
            return [SlotSet("crisis", state.to_slot()), SlotSet("answer", None)]
        level = crisis_level_from_parse_data(tracker.latest_message)
        if level == LEVEL_CHECK and not detected.is_risk and episode_risk(text) is None and can_ask_check(state):
            # Only the model flagged it, in a conversation never flagged: ask first (the form asks the check
            # question next, with 988 and 911 in view); no alert, nothing flagged until the reply says so.
            # With a plan, means or a time in it too (data/clinic/episode_words.yml) it is the full reply.
            state = start_check(state, text, likely_language(text))
            return [SlotSet("crisis", state.to_slot()), SlotSet("answer", None)]
        assessment = reply_risk(tracker, state, detected) or model_only(likely_language(text))
        state = escalate(dispatcher, tracker, state, assessment, trigger_text=text)
        return [SlotSet("crisis", state.to_slot()), SlotSet("answer", None)]

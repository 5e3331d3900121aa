"""Reading our slots from a rasa-sdk Tracker into the pure state objects of bot/."""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

from rasa_sdk import Tracker

from bot.channels import sms
from bot.safety.detector import RiskAssessment, assess_risk
from bot.safety.episode import CrisisState
from bot.safety.parse_data import assessment_from_parse_data
from bot.screening.state import ScreeningState

logger = logging.getLogger(__name__)


def screening_state(tracker: Tracker) -> ScreeningState:
    return ScreeningState.from_slot(tracker.get_slot("screening"))


def crisis_state(tracker: Tracker) -> CrisisState:
    return CrisisState.from_slot(tracker.get_slot("crisis"))


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_risk(tracker: Tracker) -> RiskAssessment:
    """The risk assessment the NLU component attached to the latest message; when it is missing or unusable,
    the detector runs on the text here (a missed crisis is the worst failure, so never skip the check)."""
    assessment = assessment_from_parse_data(tracker.latest_message)
    if assessment is None:
        logger.info("no usable risk assessment in the parse data; running the detector")
        return assess_risk(latest_text(tracker))
    return assessment


def latest_intent(tracker: Tracker) -> Tuple[Optional[str], float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError):
        confidence = 0.0
    return intent.get("name"), confidence


_FORM_ACTIONS = {"screening_form", "validate_screening_form"}


def is_fresh_reply(tracker: Tracker) -> bool:
    """True when the form runs on a new user message, not when it resumes after an interruption.

    After a rule handled an interruption (a clinic question, a crisis...) the form runs again on the same
    user message; that message must not then be taken as the answer to the next question.
    """
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return True
        if kind == "action" and event.get("name") not in _FORM_ACTIONS and event.get("name") != "action_listen":
            return False
    return False


def channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return dict(metadata) if isinstance(metadata, dict) else {}
    return {}


def sms_phone(tracker: Tracker) -> Optional[str]:
    """The sender's number (E.164) on SMS; None on every other channel, whatever their metadata says."""
    if channel(tracker) != sms.CHANNEL_NAME:
        return None
    # The SMS channel (rasa_ext/sms.py) puts it in each message's metadata; the conversation id is a hash.
    phone = latest_metadata(tracker).get(sms.PHONE_METADATA_KEY)
    return phone if isinstance(phone, str) and phone.startswith("+") else None

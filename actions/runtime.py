"""Process-wide singletons the actions share: settings, the clinic profile and the durable outbox."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict

from bot.clinic import ClinicProfile, load_clinic_profile
from bot.handoff.outbox import Outbox
from bot.privacy import INBOX_NOTE, duration_text, privacy_note_key
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def clinic() -> ClinicProfile:
    return load_clinic_profile(settings().clinic_profile)


@lru_cache(maxsize=1)
def outbox() -> Outbox:
    return Outbox(settings().database_url)


def publish(event: Dict[str, Any]) -> bool:
    """Write an event to the durable outbox; True once it is safely stored (the deliverer sends it on).

    Only the event id and type are logged: event bodies are health information.
    """
    try:
        outbox().enqueue(event)
    except Exception:
        logger.error("could not store event %s (%s) in the outbox", event.get("id"), event.get("type"), exc_info=True)
        return False
    logger.info("stored event %s (%s) for delivery", event.get("id"), event.get("type"))
    return True


def publish_or_apologise(dispatcher: Any, event: Dict[str, Any]) -> bool:
    """Store the event; if that fails, tell the visitor it was not sent (and how to reach the clinic)."""
    if publish(event):
        return True
    dispatcher.utter_message(text=message("handoff_failed"))
    return False


def first_name(answers: Dict[str, Any]) -> str:
    return str(answers.get("contact_first_name") or "").strip()


def message(key: str, **values: Any) -> str:
    text = clinic().messages[key]
    return text.format(**values) if values else text


def privacy_note() -> str:
    """The note before consent, with the retention periods this deployment enforces (bot/privacy.py)."""
    configured = settings()
    chat = duration_text(configured.transcript_retention_minutes * 60.0)
    if privacy_note_key(configured.handoff_url) == INBOX_NOTE:
        records = duration_text(configured.inbox_retention_days * 86400.0)
        return message("privacy_note_inbox", chat_retention=chat, records_retention=records)
    copy = duration_text(configured.outbox_retention_days * 86400.0)
    return message("privacy_note_records", chat_retention=chat, outbox_retention=copy)

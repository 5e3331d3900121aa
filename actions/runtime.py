"""Process-wide singletons the actions share: settings, the clinic profile, the durable outbox and its writer.

Actions run on the action server's event loop, and a store call can wait seconds (a locked SQLite file, a
PostgreSQL server gone): events therefore go through bot.handoff.spool's writer thread, and an action waits for
the store at most STORE_WAIT_S (not at all while the store is known to be down). A crisis reply never waits.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict

from bot.clinic import ClinicProfile, load_clinic_profile
from bot.handoff.outbox import Outbox
from bot.handoff.spool import QUEUED, EventSpool, StoreWriter
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


@lru_cache(maxsize=1)
def store_writer() -> StoreWriter:
    writer = StoreWriter(outbox, EventSpool(settings().data_dir / "spool", settings().spool_max_events))
    writer.start()  # also picks up what a previous run left in the spool
    return writer


def reset() -> None:
    """Stop the writer thread and forget every singleton (tests; a fresh DATA_DIR or DATABASE_URL)."""
    if store_writer.cache_info().currsize:
        store_writer().stop()
    for cached in (store_writer, outbox, clinic, settings):
        cached.cache_clear()


def store_event(event: Dict[str, Any], wait_s: float) -> str:
    """STORED, QUEUED (durably spooled, written once the store answers) or "failed" (nothing kept)."""
    try:
        return store_writer().submit(event, wait_s)
    except Exception as exc:  # noqa: BLE001 - the visitor hears it was not sent; the log gets no event body
        logger.error("could not keep event %s (%s): %s", event.get("id"), event.get("type"), type(exc).__name__)
        return "failed"


# A crisis alert's wait: the reply is already in the dispatcher and must not sit behind a slow store.
CRISIS_STORE_WAIT_S = 0.5


def publish(event: Dict[str, Any], wait_s: float = CRISIS_STORE_WAIT_S) -> bool:
    """Hand an event to the durable spool and outbox; True once it is kept on disk (the deliverer sends it on).

    Only the event id and type are logged: event bodies are health information.
    """
    return store_event(event, wait_s) != "failed"


def publish_or_apologise(dispatcher: Any, event: Dict[str, Any]) -> bool:
    """Store the event, telling the visitor the truth: if it was not kept, that it was not sent (and how to
    reach the clinic); if it waits for a store that is down, that it may reach the team late."""
    outcome = store_event(event, settings().store_wait_s)
    if outcome == "failed":
        dispatcher.utter_message(text=message("handoff_failed"))
        return False
    if outcome == QUEUED:
        dispatcher.utter_message(text=message("handoff_delayed"))
    return True


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

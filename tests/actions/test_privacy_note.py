"""The note before consent says what is kept, who sees it and for how long, from this deployment's settings."""

from __future__ import annotations

import pytest

from actions import runtime
from actions.screening_form import ActionAskAnswer
from bot.privacy import PRIVACY_NOTE_LINE
from bot.readability import flesch_kincaid_grade
from tests.actions.conftest import make_tracker


async def consent_messages(dispatcher, domain) -> list:
    tracker = make_tracker("hi", requested_slot=None)
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    return [m["text"] for m in dispatcher.messages]


def clear_settings() -> None:
    runtime.settings.cache_clear()
    runtime.clinic.cache_clear()


@pytest.mark.asyncio
async def test_before_consent_the_visitor_reads_what_is_kept_who_sees_it_and_for_how_long(
    dispatcher, domain, monkeypatch
):
    monkeypatch.setenv("TRANSCRIPT_RETENTION_MINUTES", "1440")
    monkeypatch.setenv("INBOX_RETENTION_DAYS", "180")
    clear_settings()
    texts = await consent_messages(dispatcher, domain)
    [note] = [t for t in texts if "privacy notice" in t.lower()]
    assert texts.index(note) < len(texts) - 1, "the note comes before the consent question"
    assert "answers and contact details" in note and "care team" in note
    assert "24 hours after your last message" in note and "180 days" in note
    assert runtime.clinic().privacy_notice_url in note and "example.org" in note
    assert PRIVACY_NOTE_LINE not in texts and not any("{" in t for t in texts)
    assert flesch_kincaid_grade(note) <= 8.0


@pytest.mark.asyncio
async def test_the_note_follows_the_retention_settings(dispatcher, domain, monkeypatch):
    monkeypatch.setenv("TRANSCRIPT_RETENTION_MINUTES", "30")
    monkeypatch.setenv("INBOX_RETENTION_DAYS", "90")
    clear_settings()
    [note] = [t for t in await consent_messages(dispatcher, domain) if "privacy notice" in t.lower()]
    assert "30 minutes after your last message" in note and "90 days" in note


@pytest.mark.asyncio
async def test_with_the_clinics_own_backend_the_note_says_the_clinic_keeps_the_answers(dispatcher, domain, monkeypatch):
    monkeypatch.setenv("HANDOFF_URL", "https://clinic.example/events")
    monkeypatch.setenv("HANDOFF_SECRET", "a-secret-for-the-test")
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "7")
    clear_settings()
    [note] = [t for t in await consent_messages(dispatcher, domain) if "privacy notice" in t.lower()]
    assert "our copy 7 days after we send it" in note and "180 days" not in note
    assert flesch_kincaid_grade(note) <= 8.0

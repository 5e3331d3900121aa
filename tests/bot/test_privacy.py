"""The note before consent: durations in plain words, from the retention settings the code enforces."""

from __future__ import annotations

import pytest

from bot.privacy import INBOX_NOTE, RECORDS_NOTE, duration_text, privacy_note_key


@pytest.mark.parametrize(
    "seconds,text",
    [
        (24 * 3600, "24 hours"),
        (3600, "1 hour"),
        (90 * 60, "2 hours"),  # rounded up: the chat is never still there after the time we said
        (30 * 60, "30 minutes"),
        (90, "2 minutes"),
        (0, "1 minute"),
        (2 * 86400, "2 days"),
        (7 * 86400, "7 days"),
        (180 * 86400, "180 days"),
        (36 * 3600, "36 hours"),
    ],
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


def test_the_bundled_inbox_or_the_clinics_own_records():
    assert privacy_note_key("") == INBOX_NOTE
    assert privacy_note_key("  ") == INBOX_NOTE
    assert privacy_note_key("https://clinic.example/events") == RECORDS_NOTE

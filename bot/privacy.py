"""The note before consent: what is kept, who sees it, for how long, and the clinic's privacy notice.

The durations come from the retention settings the code enforces, so the note stays true when a clinic changes
them: the chat (RETENTION_DAYS, or TRANSCRIPT_RETENTION_MINUTES when set: rasa_ext/tracker_store.py and
services/purge.py), the outbox's copy of a delivered event (RETENTION_DAYS, or OUTBOX_RETENTION_DAYS when set:
services/purge.py, run by the deliverer one interval early so the period is an upper bound) and, with the bundled staff inbox, closed leads
(INBOX_RETENTION_DAYS, services/inbox: a lead goes once it is closed and that many days old; an open one stays).
With HANDOFF_URL the clinic's own system keeps the answers, under its privacy notice.
"""

from __future__ import annotations

from bot.safety.episode import CrisisState
from bot.screening.state import CALLBACK_SENT, ScreeningState

# The line of the consent question's preface (data/clinic/flow.yml) that becomes this note.
PRIVACY_NOTE_LINE = "{what we keep}"
# Which clinic-profile message the note is: answers kept in the bundled inbox, or in the clinic's own records.
INBOX_NOTE = "privacy_note_inbox"
RECORDS_NOTE = "privacy_note_records"

_UNITS = ((86400.0, "day"), (3600.0, "hour"), (60.0, "minute"))


def duration_text(seconds: float) -> str:
    """Plain words for a retention period: 86400 -> "24 hours", 7 days -> "7 days", 90 s -> "2 minutes".

    Up to 2 days reads in hours, so "24 hours" stays "24 hours"; never rounded down to less than it is
    (a visitor told "1 hour" must not find the chat still there after it)."""
    seconds = max(0.0, float(seconds))
    for size, unit in _UNITS:
        if unit == "day" and seconds < 2 * 86400.0:
            continue
        if unit == "hour" and seconds < 3600.0:
            continue
        count = max(1, int(-(-seconds // size)))  # rounded up
        return f"{count} {unit}" + ("" if count == 1 else "s")
    return "1 minute"


def privacy_note_key(handoff_url: str) -> str:
    """The bundled inbox keeps the answers when HANDOFF_URL is empty; otherwise the clinic's own records do."""
    return RECORDS_NOTE if handoff_url.strip() else INBOX_NOTE


# What "delete my data" says (data/clinic/clinic_profile.yml): this chat is erased; what the clinic already has
# (a crisis note, answers, a call-back request) stays with it, and a phone call removes it.
ERASED = "erased"
ERASED_AFTER_SENT = "erased_after_sent"
ERASED_AFTER_ALERT = "erased_after_alert"


def erasure_message_key(screening: ScreeningState, crisis: CrisisState, lead_sent: bool) -> str:
    """Never "nothing was sent" when something was; inside (or after) a crisis episode the reply keeps 988."""
    if crisis.flagged or crisis.open:
        return ERASED_AFTER_ALERT
    if lead_sent or screening.callback == CALLBACK_SENT:
        return ERASED_AFTER_SENT
    return ERASED

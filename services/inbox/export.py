"""Leads as CSV for staff, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from services.inbox.events import CALLBACK_REQUESTED, contact_of, field, mapping_at
from services.inbox.store import StoredEvent
from services.inbox.views import format_time

COLUMNS = (
    "id",
    "type",
    "status",
    "received_at",
    "created_at",
    "channel",
    "outcome",
    "concern",
    "age",
    "first_name",
    "phone",
    "email",
    "preferred_method",
    "best_time",
    "consent_to_contact",
    "gad7",
    "phq9",
    "pcptsd5",
    "oci4",
    "crisis_flagged",
    "contraindications",
    "reasons",
)
# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _joined(items: Any, render: Any) -> str:
    if not isinstance(items, list):
        return ""
    return "; ".join(render(item) for item in items if isinstance(item, dict))


def lead_row(event: StoredEvent) -> list[str]:
    body = event.body
    lead = mapping_at(body, "lead")
    contact = contact_of(body)
    scores = mapping_at(lead, "scores")
    outcome = lead.get("outcome") or ("callback requested" if event.type == CALLBACK_REQUESTED else "")
    values = [
        event.id,
        event.type,
        event.status,
        format_time(event.received_at),
        body.get("created_at"),
        body.get("channel"),
        outcome,
        lead.get("concern"),
        lead.get("age"),
        contact.get("first_name"),
        contact.get("phone"),
        contact.get("email"),
        contact.get("preferred_method"),
        contact.get("best_time"),
        contact.get("consent_to_contact"),
        scores.get("gad7"),
        scores.get("phq9"),
        scores.get("pcptsd5"),
        scores.get("oci4"),
        field(lead, "crisis", "flagged") is True,
        _joined(lead.get("contraindications"), lambda c: f"{c.get('label')}: {c.get('answer')} ({c.get('class')})"),
        _joined(lead.get("reasons"), lambda r: str(r.get("text"))),
    ]
    return [safe_cell(v) for v in values]


def leads_csv(events: Iterable[StoredEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow(lead_row(event))
    return buffer.getvalue()

"""What the inbox accepts from the handoff, and the statuses staff can give each kind of event.

Validation is deliberately about the envelope only (the check the outbox makes too, from docs/schemas/, and the
part each type cannot lack): the inbox stores the event as delivered and renders whatever fields are present,
escaped. The envelope's id is a lowercase UUID, so it is safe in URLs and HTML attributes as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, LEAD_CREATED, envelope_problems

# Leads and callback requests are both people waiting for a call, so they share the lead workflow.
LEAD_TYPES = (LEAD_CREATED, CALLBACK_REQUESTED)
ALERT_TYPES = (CRISIS_ALERT,)

LEAD_STATUSES = ("new", "contacted", "scheduled", "closed")
ALERT_STATUSES = ("open", "acknowledged", "closed")


class InvalidEvent(ValueError):
    """The body is JSON but not an event the inbox can store; the message is safe to return to the sender."""


@dataclass(frozen=True)
class EventEnvelope:
    id: str
    type: str
    created_at: str


def statuses_for(event_type: str) -> tuple[str, ...]:
    return ALERT_STATUSES if event_type in ALERT_TYPES else LEAD_STATUSES


def initial_status(event_type: str) -> str:
    return statuses_for(event_type)[0]


def _problem(event: Mapping[str, Any]) -> Optional[str]:
    """The first reason the inbox cannot store the event: the shared envelope check, then the one part each
    type cannot be shown without. The rest is rendered as delivered, so it is not checked here."""
    problems = envelope_problems(event)
    if problems:
        return "; ".join(problems)
    event_type = event["type"]
    if event_type == LEAD_CREATED and not isinstance(event.get("lead"), dict):
        return "lead: must be an object"
    if event_type == CRISIS_ALERT:
        severity = event.get("severity")
        if not isinstance(severity, str) or not severity.strip() or len(severity) > 64:
            return "severity: must be a non-empty string"
        if not isinstance(event.get("categories"), list):
            return "categories: must be a list"
    if event_type == CALLBACK_REQUESTED and not (
        isinstance(event.get("lead"), dict) or isinstance(event.get("contact"), dict)
    ):
        return "lead or contact: must be an object"
    return None


def validate_event(event: Any, idempotency_key: Optional[str]) -> EventEnvelope:
    """Check the envelope; raise InvalidEvent with a reason naming the field (never the visitor's data)."""
    if not isinstance(event, dict):
        raise InvalidEvent("the body must be a JSON object")
    problem = _problem(event)
    if problem:
        raise InvalidEvent(problem)
    if idempotency_key is None or idempotency_key.strip() != event["id"]:
        raise InvalidEvent("the Idempotency-Key header must equal the event id")
    return EventEnvelope(id=event["id"], type=event["type"], created_at=event["created_at"])


def field(data: Any, *path: str) -> Any:
    """A nested value or None, tolerating missing keys and wrong types (events come from another process)."""
    current = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def mapping_at(data: Any, *path: str) -> Dict[str, Any]:
    """The nested object at `path`, or {} when it is missing or not an object."""
    value = field(data, *path)
    return value if isinstance(value, dict) else {}


def contact_of(event: Mapping[str, Any]) -> dict:
    """The contact block: inside the lead for leads, at the top level for alerts and bare callbacks."""
    contact = field(event, "lead", "contact")
    if not isinstance(contact, dict):
        contact = event.get("contact")
    return contact if isinstance(contact, dict) else {}

"""What the inbox accepts from the handoff, and the statuses staff can give each kind of event.

Validation is deliberately about the envelope only (ids, type, version, the part each type cannot lack): the
inbox stores the event as delivered and renders whatever fields are present, escaped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

LEAD_CREATED = "lead.created"
CRISIS_ALERT = "crisis.alert"
CALLBACK_REQUESTED = "callback.requested"
EVENT_TYPES = (LEAD_CREATED, CRISIS_ALERT, CALLBACK_REQUESTED)
# Leads and callback requests are both people waiting for a call, so they share the lead workflow.
LEAD_TYPES = (LEAD_CREATED, CALLBACK_REQUESTED)
ALERT_TYPES = (CRISIS_ALERT,)

LEAD_STATUSES = ("new", "contacted", "scheduled", "closed")
ALERT_STATUSES = ("open", "acknowledged", "closed")
SCHEMA_VERSION = 1
MAX_ID_CHARS = 200
# Ids appear in URLs and HTML attributes; a plain charset keeps routing and quoting trivial.
EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


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


def _require_text(event: Mapping[str, Any], field: str, max_chars: int = 500) -> str:
    value = event.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"field '{field}' must be a non-empty string")
    if len(value) > max_chars:
        raise InvalidEvent(f"field '{field}' is too long")
    return value


def validate_event(event: Any, idempotency_key: Optional[str]) -> EventEnvelope:
    """Check the envelope; raise InvalidEvent with a reason naming the field (never the visitor's data)."""
    if not isinstance(event, dict):
        raise InvalidEvent("the body must be a JSON object")
    event_id = _require_text(event, "id", MAX_ID_CHARS)
    if not EVENT_ID_PATTERN.match(event_id):
        raise InvalidEvent("field 'id' may hold only letters, digits and . _ : -")
    event_type = _require_text(event, "type", 64)
    if event_type not in EVENT_TYPES:
        raise InvalidEvent("field 'type' must be one of " + ", ".join(EVENT_TYPES))
    version = event.get("schema_version")
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise InvalidEvent(f"field 'schema_version' must be {SCHEMA_VERSION}")
    _require_text(event, "conversation_id")
    _require_text(event, "channel", 64)
    created_at = _require_text(event, "created_at", 64)
    if event_type == LEAD_CREATED and not isinstance(event.get("lead"), dict):
        raise InvalidEvent("field 'lead' must be an object")
    if event_type == CRISIS_ALERT:
        _require_text(event, "severity", 64)
        if not isinstance(event.get("categories"), list):
            raise InvalidEvent("field 'categories' must be a list")
    if event_type == CALLBACK_REQUESTED and not (
        isinstance(event.get("lead"), dict) or isinstance(event.get("contact"), dict)
    ):
        raise InvalidEvent("field 'lead' or 'contact' must be an object")
    if idempotency_key is None or idempotency_key.strip() != event_id:
        raise InvalidEvent("the Idempotency-Key header must equal the event id")
    return EventEnvelope(id=event_id, type=event_type, created_at=created_at)


def field(data: Any, *path: str) -> Any:
    """A nested value or None, tolerating missing keys and wrong types (events come from another process)."""
    current = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def contact_of(event: Mapping[str, Any]) -> dict:
    """The contact block: inside the lead for leads, at the top level for alerts and bare callbacks."""
    contact = field(event, "lead", "contact")
    if not isinstance(contact, dict):
        contact = event.get("contact")
    return contact if isinstance(contact, dict) else {}

"""Event shapes handed to the clinic's backend (or the bundled inbox): plain dicts, schema_version 1.

The contract is written out in docs/events.md and as JSON Schema in docs/schemas/. `validate_event` checks
the same rules without a jsonschema dependency so both Python environments can use it; the tests keep the
two in agreement. Problem strings name fields only, never values, so they are safe to log.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Union

SCHEMA_VERSION = 1

LEAD_CREATED = "lead.created"
CRISIS_ALERT = "crisis.alert"
CALLBACK_REQUESTED = "callback.requested"
EVENT_TYPES = (LEAD_CREATED, CRISIS_ALERT, CALLBACK_REQUESTED)

OUTCOMES = ("qualified", "needs_review", "not_eligible")
CRISIS_SEVERITIES = ("imminent", "high", "moderate")
# Label-derived split from the reference notes (§3): absolute -> not eligible, relative -> clinician review.
CONTRAINDICATION_CLASSES = ("absolute", "relative")
# Score ranges of each instrument (reference notes §2): GAD-7 0-21, PHQ-9 0-27, PC-PTSD-5 0-5, OCI-4 0-16.
SCORE_RANGES = {"gad7": (0, 21), "phq9": (0, 27), "pcptsd5": (0, 5), "oci4": (0, 16)}
REQUIRED_SCORES = ("gad7", "phq9")

# A fixed namespace so stable ids are the same on every machine and in every release.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/haven-prescreen/events")

E164_PATTERN = re.compile(r"^\+[1-9][0-9]{1,14}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CREATED_AT_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$")

Timestamp = Union[datetime, str, None]


def stable_event_id(conversation_id: str, kind: str, sequence: int | str) -> str:
    """The same inputs always give the same id, so an action that runs twice enqueues one event."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{conversation_id}\x1f{kind}\x1f{sequence}"))


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, whole seconds: "2026-11-27T01:02:03Z". Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str) -> datetime:
    """Inverse of `format_timestamp` (also accepts fractional seconds); raises ValueError on anything else."""
    if not isinstance(value, str) or not CREATED_AT_PATTERN.match(value):
        raise ValueError("timestamp must look like 2026-11-27T01:02:03Z")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)


def _created_at(created_at: Timestamp) -> str:
    if created_at is None:
        return format_timestamp(datetime.now(timezone.utc))
    if isinstance(created_at, datetime):
        return format_timestamp(created_at)
    parse_timestamp(created_at)  # raises a clear ValueError when malformed
    return created_at


def _envelope(event_type: str, conversation_id: str, channel: str, event_id: Optional[str],
              created_at: Timestamp) -> dict:
    return {
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
        "schema_version": SCHEMA_VERSION,
        "conversation_id": conversation_id,
        "channel": channel,
        "created_at": _created_at(created_at),
    }


def lead_created(*, conversation_id: str, channel: str, lead: Mapping[str, Any], event_id: Optional[str] = None,
                 created_at: Timestamp = None) -> dict:
    event = _envelope(LEAD_CREATED, conversation_id, channel, event_id, created_at)
    event["lead"] = dict(lead)
    return event


def crisis_alert(*, conversation_id: str, channel: str, severity: str, categories: list, message: str,
                 contact: Optional[Mapping[str, Any]], event_id: Optional[str] = None,
                 created_at: Timestamp = None) -> dict:
    event = _envelope(CRISIS_ALERT, conversation_id, channel, event_id, created_at)
    event["severity"] = severity
    event["categories"] = list(categories)
    event["message"] = message
    event["contact"] = dict(contact or {})
    return event


def callback_requested(*, conversation_id: str, channel: str, lead: Mapping[str, Any],
                       event_id: Optional[str] = None, created_at: Timestamp = None) -> dict:
    event = _envelope(CALLBACK_REQUESTED, conversation_id, channel, event_id, created_at)
    event["lead"] = dict(lead)
    return event


# --- validation -------------------------------------------------------------------------------------------

def _is_str(value: Any, *, allow_empty: bool = False) -> bool:
    return isinstance(value, str) and (allow_empty or value.strip() != "")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_str(obj: Mapping, key: str, path: str, problems: list[str], *, nullable: bool = False,
               required: bool = True) -> None:
    if key not in obj:
        if required:
            problems.append(f"{path}{key}: missing")
        return
    value = obj[key]
    if value is None and nullable:
        return
    if not _is_str(value):
        problems.append(f"{path}{key}: must be a non-empty string" + (" or null" if nullable else ""))


def _check_str_list(obj: Mapping, key: str, path: str, problems: list[str]) -> None:
    value = obj.get(key)
    if key not in obj:
        problems.append(f"{path}{key}: missing")
    elif not isinstance(value, list) or not all(_is_str(item) for item in value):
        problems.append(f"{path}{key}: must be a list of non-empty strings")


def _check_object_list(obj: Mapping, key: str, path: str, problems: list[str], fields: tuple,
                       extra_check=None) -> None:
    if key not in obj:
        problems.append(f"{path}{key}: missing")
        return
    items = obj[key]
    if not isinstance(items, list):
        problems.append(f"{path}{key}: must be a list")
        return
    for index, item in enumerate(items):
        where = f"{path}{key}[{index}]."
        if not isinstance(item, Mapping):
            problems.append(f"{path}{key}[{index}]: must be an object")
            continue
        for field in fields:
            _check_str(item, field, where, problems)
        if extra_check:
            extra_check(item, where, problems)


def _check_contact(contact: Any, path: str, problems: list[str], *, complete: bool) -> None:
    """`complete` (lead.created) requires every field; a callback's contact only needs a way to reach them."""
    if not isinstance(contact, Mapping):
        problems.append(f"{path}: must be an object")
        return
    prefix = path + "."
    for key in ("first_name", "email", "preferred_method", "best_time"):
        _check_str(contact, key, prefix, problems, nullable=True, required=complete)
    phone = contact.get("phone")
    if "phone" not in contact:
        if complete:
            problems.append(f"{prefix}phone: missing")
    elif phone is not None and not (isinstance(phone, str) and E164_PATTERN.match(phone)):
        problems.append(f"{prefix}phone: must be E.164 (+ and up to 15 digits) or null")
    email = contact.get("email")
    if _is_str(email) and not EMAIL_PATTERN.match(email):
        problems.append(f"{prefix}email: must be an email address or null")
    if "consent_to_contact" not in contact:
        if complete:
            problems.append(f"{prefix}consent_to_contact: missing")
    elif not isinstance(contact["consent_to_contact"], bool):
        problems.append(f"{prefix}consent_to_contact: must be true or false")
    if phone is None and email is None:
        problems.append(f"{path}: needs a phone or an email")


def _check_scores(scores: Any, path: str, problems: list[str]) -> None:
    if not isinstance(scores, Mapping):
        problems.append(f"{path}: must be an object")
        return
    for name, (low, high) in SCORE_RANGES.items():
        if name not in scores:
            if name in REQUIRED_SCORES:
                problems.append(f"{path}.{name}: missing")
            continue
        value = scores[name]
        # null = the instrument was not completed (e.g. screening stopped at an absolute contraindication).
        if value is not None and not (_is_int(value) and low <= value <= high):
            problems.append(f"{path}.{name}: must be a whole number from {low} to {high}, or null")


def _check_answer_value(item: Mapping, where: str, problems: list[str]) -> None:
    if "value" not in item:
        problems.append(f"{where}value: missing")


def _check_contraindication_class(item: Mapping, where: str, problems: list[str]) -> None:
    if item.get("class") not in CONTRAINDICATION_CLASSES:
        problems.append(f"{where}class: must be one of {', '.join(CONTRAINDICATION_CLASSES)}")


def _check_full_lead(lead: Mapping, problems: list[str]) -> None:
    if lead.get("outcome") not in OUTCOMES:
        problems.append(f"lead.outcome: must be one of {', '.join(OUTCOMES)}")
    _check_str(lead, "concern", "lead.", problems, nullable=True)
    if "age" not in lead:
        problems.append("lead.age: missing")
    elif lead["age"] is not None and not (_is_int(lead["age"]) and 0 <= lead["age"] <= 130):
        problems.append("lead.age: must be a whole number from 0 to 130, or null")
    _check_contact(lead.get("contact"), "lead.contact", problems, complete=True)
    _check_scores(lead.get("scores"), "lead.scores", problems)
    _check_object_list(lead, "answers", "lead.", problems, ("id", "question", "answer"), _check_answer_value)
    # `answer` is what the visitor said; it may be short (e.g. "no") but never empty.
    _check_object_list(lead, "contraindications", "lead.", problems, ("id", "label", "answer", "source"),
                       _check_contraindication_class)
    _check_object_list(lead, "reasons", "lead.", problems, ("id", "text"))
    crisis = lead.get("crisis")
    if not isinstance(crisis, Mapping):
        problems.append("lead.crisis: must be an object")
    else:
        if not isinstance(crisis.get("flagged"), bool):
            problems.append("lead.crisis.flagged: must be true or false")
        _check_str_list(crisis, "categories", "lead.crisis.", problems)


def _check_callback_lead(lead: Mapping, problems: list[str]) -> None:
    _check_str(lead, "concern", "lead.", problems, nullable=True)
    _check_contact(lead.get("contact"), "lead.contact", problems, complete=False)


def validate_event(event: Any) -> list[str]:
    """Problems with an event (empty list = valid). Unknown extra fields are allowed (forward compatible)."""
    if not isinstance(event, Mapping):
        return ["event: must be an object"]
    problems: list[str] = []
    event_type = event.get("type")
    if event_type not in EVENT_TYPES:
        problems.append(f"type: must be one of {', '.join(EVENT_TYPES)}")
    if not (isinstance(event.get("id"), str) and UUID_PATTERN.match(event["id"])):
        problems.append("id: must be a lowercase UUID string")
    if event.get("schema_version") != SCHEMA_VERSION or isinstance(event.get("schema_version"), bool):
        problems.append(f"schema_version: must be {SCHEMA_VERSION}")
    _check_str(event, "conversation_id", "", problems)
    _check_str(event, "channel", "", problems)
    if not (isinstance(event.get("created_at"), str) and CREATED_AT_PATTERN.match(event["created_at"])):
        problems.append("created_at: must be ISO 8601 UTC like 2026-11-27T01:02:03Z")

    if event_type in (LEAD_CREATED, CALLBACK_REQUESTED):
        lead = event.get("lead")
        if not isinstance(lead, Mapping):
            problems.append("lead: must be an object")
        elif event_type == LEAD_CREATED:
            _check_full_lead(lead, problems)
        else:
            _check_callback_lead(lead, problems)
    elif event_type == CRISIS_ALERT:
        if event.get("severity") not in CRISIS_SEVERITIES:
            problems.append(f"severity: must be one of {', '.join(CRISIS_SEVERITIES)}")
        _check_str_list(event, "categories", "", problems)
        if not _is_str(event.get("message"), allow_empty=True):
            problems.append("message: must be a string")
        if not isinstance(event.get("contact"), Mapping):
            problems.append("contact: must be an object (may be empty)")
    return problems

"""Event shapes handed to the clinic's backend (or the bundled inbox): plain dicts, schema_version 1.

The contract is written out in docs/events.md and as JSON Schema in docs/schemas/; `validate_event` checks an
event against those schemas with jsonschema (in both Python environments). Problem strings name fields only,
never values, so they are safe to log.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union, cast

from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA_VERSION = 1

LEAD_CREATED = "lead.created"
CRISIS_ALERT = "crisis.alert"
CALLBACK_REQUESTED = "callback.requested"
EVENT_TYPES = (LEAD_CREATED, CRISIS_ALERT, CALLBACK_REQUESTED)

# A fixed namespace so stable ids are the same on every machine and in every release.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/haven-prescreen/events")

Timestamp = Union[datetime, str, None]


def stable_event_id(conversation_id: str, kind: str, sequence: int | str) -> str:
    """The same inputs always give the same id, so an action that runs twice enqueues one event."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{conversation_id}\x1f{kind}\x1f{sequence}"))


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, whole seconds: "2026-11-27T01:02:03Z". Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1)
def _created_at_pattern() -> re.Pattern[str]:
    return re.compile(envelope_schema()["properties"]["created_at"]["pattern"])


def parse_timestamp(value: str) -> datetime:
    """Inverse of `format_timestamp` (also accepts fractional seconds); raises ValueError on anything else."""
    if not isinstance(value, str) or not _created_at_pattern().match(value):
        raise ValueError("timestamp must look like 2026-11-27T01:02:03Z")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)


def _created_at(created_at: Timestamp) -> str:
    if created_at is None:
        return format_timestamp(datetime.now(timezone.utc))
    if isinstance(created_at, datetime):
        return format_timestamp(created_at)
    parse_timestamp(created_at)  # raises a clear ValueError when malformed
    return created_at


def _envelope(
    event_type: str, conversation_id: str, channel: str, event_id: Optional[str], created_at: Timestamp
) -> dict:
    return {
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
        "schema_version": SCHEMA_VERSION,
        "conversation_id": conversation_id,
        "channel": channel,
        "created_at": _created_at(created_at),
    }


def _lead_event(
    event_type: str,
    conversation_id: str,
    channel: str,
    lead: Mapping[str, Any],
    event_id: Optional[str],
    created_at: Timestamp,
) -> dict:
    event = _envelope(event_type, conversation_id, channel, event_id, created_at)
    event["lead"] = dict(lead)
    return event


def lead_created(
    *,
    conversation_id: str,
    channel: str,
    lead: Mapping[str, Any],
    event_id: Optional[str] = None,
    created_at: Timestamp = None,
) -> dict:
    return _lead_event(LEAD_CREATED, conversation_id, channel, lead, event_id, created_at)


def crisis_alert(
    *,
    conversation_id: str,
    channel: str,
    severity: str,
    categories: list,
    message: str,
    contact: Optional[Mapping[str, Any]],
    event_id: Optional[str] = None,
    created_at: Timestamp = None,
    sequence: Optional[int] = None,
    reason: Optional[str] = None,
    previous_severity: Optional[str] = None,
    cssrs: Optional[Mapping[str, Any]] = None,
    callback_requested: Optional[bool] = None,
) -> dict:
    """A crisis alert. The optional fields (docs/events.md) say what changed when it is not the episode's first:
    `sequence` (1, 2, ... within the conversation), `reason`, `previous_severity` (what staff were told before),
    `cssrs` (the screener's result) and `callback_requested` (the visitor asked for a call at contact.phone)."""
    event = _envelope(CRISIS_ALERT, conversation_id, channel, event_id, created_at)
    event["severity"] = severity
    event["categories"] = list(categories)
    event["message"] = message
    event["contact"] = dict(contact or {})
    optional = {
        "sequence": sequence,
        "reason": reason,
        "previous_severity": previous_severity,
        "cssrs": dict(cssrs) if cssrs else None,
        "callback_requested": callback_requested,
    }
    event.update({k: v for k, v in optional.items() if v is not None})
    return event


def callback_requested(
    *,
    conversation_id: str,
    channel: str,
    lead: Mapping[str, Any],
    event_id: Optional[str] = None,
    created_at: Timestamp = None,
) -> dict:
    """A call-back request: the same body as a lead (the visitor's details), its own type."""
    return _lead_event(CALLBACK_REQUESTED, conversation_id, channel, lead, event_id, created_at)


# --- validation -------------------------------------------------------------------------------------------
# The published JSON Schemas are the one statement of the contract; the code checks events against them.

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
# The fields every event carries, whatever its type: what any receiver checks before it looks further.
ENVELOPE_FIELDS = ("type", "id", "schema_version", "conversation_id", "channel", "created_at")

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _is_whole_number(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 34.0 (and true, in Python) as an integer; a producer should send 34.
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_whole_number),
)


@cache
def event_schema(event_type: str) -> dict:
    """The published schema of one event type (docs/schemas/<type>.json)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"no schema for event type {event_type!r}")
    schema: dict = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text(encoding="utf-8"))
    return schema


def envelope_schema() -> dict:
    """The envelope part of the published schemas (the tests keep it the same in every type's schema)."""
    properties = {name: event_schema(EVENT_TYPES[0])["properties"][name] for name in ENVELOPE_FIELDS}
    properties["type"] = {"enum": list(EVENT_TYPES)}
    return {"type": "object", "required": list(ENVELOPE_FIELDS), "properties": properties}


@cache
def _validator(event_type: Optional[str]) -> Any:
    """Checked and compiled once per process (jsonschema.validate would re-check the schema on every call).
    `None` is the envelope alone."""
    schema = envelope_schema() if event_type is None else event_schema(event_type)
    Draft202012Validator.check_schema(schema)
    return _StrictValidator(schema)


def _where(path: Iterable[Any]) -> str:
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def _requirement(error: ValidationError) -> str:
    """What the failed keyword asks for, in words taken from the schema only (never from the value)."""
    # jsonschema types these as "value or Unset"; a raised ValidationError always has them set.
    keyword, expected, subschema = error.validator, cast(Any, error.validator_value), cast(Any, error.schema)
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_WORDS.get(str(kind), str(kind)) for kind in kinds)
    if keyword == "const":
        return f"must be {json.dumps(expected)}"
    if keyword == "enum":
        return "must be one of " + ", ".join(str(item) for item in expected)
    if keyword == "pattern":
        return "must not be blank" if expected == r"\S" else f"must match {expected}"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"must have at least {expected} characters"
    if keyword == "maxLength":
        return f"must have at most {expected} characters"
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "maximum":
        return f"must be at most {expected}"
    if keyword == "anyOf" and all(isinstance(branch, dict) and branch.get("required") for branch in expected):
        names = [name for branch in expected for name in branch["required"]]
        return "needs " + " or ".join(("an " if name[0] in "aeiou" else "a ") + name for name in names)
    description = subschema.get("description") if isinstance(subschema, dict) else None
    return f"breaks the schema's {keyword} rule" + (f" ({description})" if description else "")


def _problems(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    if error.validator == "required":
        required, instance = cast(Any, error.validator_value), cast(Any, error.instance)
        missing = [name for name in required if name not in instance]
        prefix = _where(path) + "." if path else ""
        return [f"{prefix}{name}: missing" for name in missing]
    item_schema = error.schema if isinstance(error.schema, dict) else {}
    if path and isinstance(path[-1], int) and item_schema.get("type") != "object":
        # A bad entry of a list of plain values belongs to the list ("categories: item 1 must be a string").
        return [f"{_where(path[:-1])}: item {path[-1]} {_requirement(error)}"]
    return [f"{_where(path) or 'event'}: {_requirement(error)}"]


def _schema_problems(event: dict, event_type: Optional[str]) -> list[str]:
    problems: list[str] = []
    for error in sorted(_validator(event_type).iter_errors(event), key=lambda e: [str(p) for p in e.absolute_path]):
        problems += [problem for problem in _problems(error) if problem not in problems]
    return problems


def envelope_problems(event: Any) -> list[str]:
    """Problems with the envelope only (empty list = valid): what the outbox and the inbox both check first.
    Problem strings name fields, never values, so they are safe to log and to return to a sender."""
    if not isinstance(event, Mapping):
        return ["event: must be an object"]
    return _schema_problems(dict(event), None)


def validate_event(event: Any) -> list[str]:
    """Problems with an event against its published schema (empty list = valid). Unknown extra fields are
    allowed (forward compatible)."""
    problems = envelope_problems(event)
    if not isinstance(event, Mapping) or event.get("type") not in EVENT_TYPES:
        return problems
    return problems + [p for p in _schema_problems(dict(event), event["type"]) if p not in problems]

"""Checks every input channel applies before a message reaches Rasa.

Pure functions, no Rasa: the guarded REST channel (and later SMS and the widget) call them, so a malformed
request gets a clear 4xx instead of a crash, and a typed `/intent{...}` payload cannot drive the dialogue.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict

MAX_SENDER_CHARS = 128
MAX_BODY_BYTES = 64 * 1024
# Sender ids are opaque keys (uuid, phone number, widget session); anything else is refused so that no
# request can land in someone else's conversation by accident ("default", empty, whitespace).
_SENDER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$")
_RESERVED_SENDERS = {"default"}
# Conversation ids other channels make for themselves (SMS: "sms:" + a keyed hash of the number,
# bot/channels/sms.py); a REST or widget request can never claim one.
RESERVED_SENDER_PREFIXES = ("sms:",)


class InvalidRequest(ValueError):
    """A request the channel refuses; `str(error)` is safe to return to the client."""


@dataclass(frozen=True)
class InboundMessage:
    sender: str
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)


# Rasa's built-in intents whose default rules act on the tracker itself (undo the last turn, wipe it, start
# a new session). Typed as `/back` they would bypass the screening, so they reach Rasa as plain words.
_BUILT_IN_CONTROL_PAYLOAD = re.compile(r"^/+\s*(back|restart|session_start)\b", re.IGNORECASE)


def neutralise_payload(text: str) -> str:
    """Defuse typed payloads that would act on the conversation itself.

    Rasa reads any text starting with `/` as `/intent{json}` at confidence 1.0 with no switch to turn it off
    (RasaHQ/rasa#5075). Other payloads are left as typed: no slot is filled from an entity, and the screening
    never accepts a reply starting with `/` as an answer (bot.screening.answers), so `/inform{"age": 30}`
    is re-asked and `/stop` simply stops. Our buttons send their title as plain text, not payloads.
    """
    match = _BUILT_IN_CONTROL_PAYLOAD.match(text)
    if match:
        return text[match.start(1) :].replace("_", " ", 1)
    return text


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines and tabs) and normalise Unicode to NFC."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def parse_rest_body(raw: bytes, *, max_chars: int) -> InboundMessage:
    """Validate a REST webhook body: a JSON object with string `sender` and `message`."""
    if not raw or not raw.strip():
        raise InvalidRequest("empty body: send a JSON object with 'sender' and 'message'")
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest("request body too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object with 'sender' and 'message'")
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise InvalidRequest("'sender' must be a non-empty string")
    sender = sender.strip()
    if (
        len(sender) > MAX_SENDER_CHARS
        or not _SENDER_PATTERN.match(sender)
        or sender.lower() in _RESERVED_SENDERS
        or sender.lower().startswith(RESERVED_SENDER_PREFIXES)
    ):
        raise InvalidRequest("'sender' must be 1-128 letters, digits or _.:@+- and not a reserved name")
    message = body.get("message")
    if not isinstance(message, str):
        raise InvalidRequest("'message' must be a string")
    if len(message) > max_chars:
        raise InvalidRequest(f"'message' is too long (at most {max_chars} characters)")
    text = neutralise_payload(clean_text(message))
    if not text:
        raise InvalidRequest("'message' must contain some text")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequest("'metadata' must be a JSON object when given")
    return InboundMessage(sender=sender, text=text, metadata=dict(metadata or {}))


def error_body(error: InvalidRequest) -> Dict[str, str]:
    return {"error": "invalid_request", "detail": str(error)}

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


class InvalidRequest(ValueError):
    """A request the channel refuses; `str(error)` is safe to return to the client."""


@dataclass(frozen=True)
class InboundMessage:
    sender: str
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)


def neutralise_payload(text: str) -> str:
    """Strip leading slashes so Rasa never reads visitor text as `/intent{json}` at confidence 1.0.

    Rasa's RegexMessageHandler has no switch (RasaHQ/rasa#5075); our buttons send their title as plain text,
    so no legitimate message starts with '/'.
    """
    return text.lstrip().lstrip("/").lstrip()


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
    if len(sender) > MAX_SENDER_CHARS or not _SENDER_PATTERN.match(sender) or sender.lower() in _RESERVED_SENDERS:
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

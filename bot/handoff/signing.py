"""Webhook signatures: `X-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.

Receivers must verify against the raw bytes they received, before parsing JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

SIGNATURE_HEADER = "X-Signature-256"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_PREFIX = "sha256="


def encode_event(event: Mapping[str, object]) -> bytes:
    """The exact bytes that are signed and sent: compact, key-sorted UTF-8 JSON (stable across retries)."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(body: bytes, header_value: str | None, secret: str) -> bool:
    """Constant-time check of a received signature header against the raw body. Any header a sender can put on
    the wire (empty, garbled, non-ASCII) is a False, never an exception."""
    if not header_value or not header_value.startswith(SIGNATURE_PREFIX) or not secret:
        return False
    # compare_digest refuses str with non-ASCII characters (TypeError); compare the bytes instead.
    given = header_value.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sign(body, secret).encode("ascii"), given)

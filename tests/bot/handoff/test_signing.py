"""bot/handoff/signing.py: what a sender can put in X-Signature-256 is a yes or a no, never an exception."""

from __future__ import annotations

import pytest

from bot.handoff.signing import encode_event, sign, verify

SECRET = "a-signing-secret-for-these-tests-only-0123456789"
BODY = encode_event({"id": "x", "type": "lead.created"})


def test_the_right_signature_verifies_and_a_changed_body_does_not() -> None:
    assert verify(BODY, sign(BODY, SECRET), SECRET)
    assert verify(BODY, sign(BODY, SECRET) + " ", SECRET)
    assert not verify(BODY + b" ", sign(BODY, SECRET), SECRET)
    assert not verify(BODY, sign(BODY, SECRET), "")


@pytest.mark.parametrize(
    "header",
    [
        "sha256=\u00e9\u00e9",  # non-ASCII: hmac.compare_digest raised TypeError on it (a 500 at the inbox)
        "sha256=" + "\u00ff" * 64,
        "sha256=\udcff",  # a lone surrogate, as surrogateescape decoding of raw bytes gives
        "sha256=",
        "sha1=abc",
        "",
        None,
    ],
)
def test_garbled_headers_are_refused_without_raising(header) -> None:
    assert verify(BODY, header, SECRET) is False

from __future__ import annotations

import json

import pytest

from bot.channels.guard import InvalidRequest, neutralise_payload, parse_rest_body


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_a_valid_message_passes_with_its_metadata():
    inbound = parse_rest_body(body(sender="visitor-1", message=" hi there ", metadata={"page": "/"}), max_chars=100)
    assert (inbound.sender, inbound.text, inbound.metadata) == ("visitor-1", "hi there", {"page": "/"})


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"[]",
        b"null",
        b"not json",
        b"\xff\xfe",
        body(message="hi"),
        body(sender=None, message="hi"),
        body(sender=5, message="hi"),
        body(sender="", message="hi"),
        body(sender="default", message="hi"),
        body(sender="a b", message="hi"),
        body(sender="x" * 200, message="hi"),
        body(sender="abc"),
        body(sender="abc", message=42),
        body(sender="abc", message=["hi"]),
        body(sender="abc", message="\u0000\u0007 "),
        body(sender="abc", message="x" * 101),
        body(sender="abc", message="hi", metadata="page"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw):
    with pytest.raises(InvalidRequest) as error:
        parse_rest_body(raw, max_chars=100)
    assert str(error.value)


def test_oversized_bodies_are_refused_before_parsing():
    with pytest.raises(InvalidRequest):
        parse_rest_body(b"{" + b" " * 70000 + b"}", max_chars=100)


def test_control_characters_are_dropped_but_newlines_kept():
    assert parse_rest_body(body(sender="a", message="one\u0000\ntwo"), max_chars=100).text == "one\ntwo"


@pytest.mark.parametrize(
    "typed, sent",
    [
        ("/back", "back"),
        ("/restart", "restart"),
        ("//session_start", "session start"),
        ('/restart{"x": 1}', 'restart{"x": 1}'),
        ("/affirm", "/affirm"),
        ('/inform{"age": 30}', '/inform{"age": 30}'),
        ("hello /back", "hello /back"),
    ],
)
def test_only_built_in_tracker_controls_are_defused(typed, sent):
    assert neutralise_payload(typed) == sent

from __future__ import annotations

import pytest

from bot.handoff.events import envelope_problems
from services.inbox.events import InvalidEvent, contact_of, initial_status, statuses_for, validate_event
from tests.services.inbox.inbox_helpers import alert_event, lead_event


def test_valid_lead_and_alert_envelopes() -> None:
    lead = lead_event()
    envelope = validate_event(lead, lead["id"])
    assert (envelope.id, envelope.type, envelope.created_at) == (lead["id"], "lead.created", lead["created_at"])
    alert = alert_event()
    assert validate_event(alert, alert["id"]).type == "crisis.alert"


def test_callback_request_with_lead_is_accepted() -> None:
    event = lead_event()
    event["type"] = "callback.requested"
    assert validate_event(event, event["id"]).type == "callback.requested"


@pytest.mark.parametrize("missing", ["id", "type", "schema_version", "conversation_id", "channel", "created_at"])
def test_missing_envelope_fields_are_rejected(missing: str) -> None:
    event = lead_event()
    key = event["id"]
    del event[missing]
    with pytest.raises(InvalidEvent):
        validate_event(event, key)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "lead.deleted"},
        {"schema_version": 2},
        {"schema_version": True},
        {"lead": "not an object"},
        {"id": "../../etc/passwd"},
        {"id": "x" * 201},
        {"id": "lead-1"},
        {"conversation_id": "c" * 501},
        {"channel": "x" * 65},
        {"created_at": "yesterday"},
    ],
)
def test_bad_envelope_values_are_rejected(change: dict) -> None:
    event = {**lead_event(), **change}
    with pytest.raises(InvalidEvent):
        validate_event(event, event["id"] if isinstance(event["id"], str) else "")


@pytest.mark.parametrize(
    "change", [{"id": "NOT-A-UUID"}, {"schema_version": "1"}, {"channel": " "}, {"created_at": "2026-11-27"}]
)
def test_the_inbox_rejects_with_the_outboxs_envelope_check(change: dict) -> None:
    event = {**lead_event(), **change}
    with pytest.raises(InvalidEvent) as rejected:
        validate_event(event, event["id"])
    assert str(rejected.value) == "; ".join(envelope_problems(event))
    assert next(iter(change)) in str(rejected.value)


def test_the_inbox_stays_lenient_past_the_envelope() -> None:
    # It stores what was delivered and renders what is there: a lead it cannot fully read is still a lead.
    event = lead_event()
    event["lead"] = {"concern": None}
    assert validate_event(event, event["id"]).type == "lead.created"
    callback = {**alert_event(), "type": "callback.requested", "contact": {"phone": "+18185550123"}}
    assert validate_event(callback, callback["id"]).type == "callback.requested"


def test_alert_needs_severity_and_category_list() -> None:
    alert = alert_event()
    alert["categories"] = "suicidal_ideation"
    with pytest.raises(InvalidEvent):
        validate_event(alert, alert["id"])


def test_idempotency_key_must_equal_id() -> None:
    event = lead_event()
    with pytest.raises(InvalidEvent, match="Idempotency-Key"):
        validate_event(event, "another-id")
    with pytest.raises(InvalidEvent):
        validate_event(event, None)


def test_non_object_bodies_are_rejected() -> None:
    for body in ([], "text", 3, None):
        with pytest.raises(InvalidEvent):
            validate_event(body, "x")


def test_statuses_and_contact_lookup() -> None:
    assert initial_status("lead.created") == "new" and initial_status("crisis.alert") == "open"
    assert statuses_for("callback.requested") == ("new", "contacted", "scheduled", "closed")
    assert contact_of(lead_event("Ana"))["first_name"] == "Ana"
    assert contact_of(alert_event("Sam"))["first_name"] == "Sam"
    assert contact_of({"lead": "broken"}) == {}

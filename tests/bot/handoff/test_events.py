from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff import events
from bot.handoff.signing import encode_event
from tests.handoff_fixtures import make_crisis_event, make_lead_event, sample_lead


def test_envelope_fields_and_timestamp_format():
    moment = datetime(2026, 11, 27, 1, 2, 3, 456000, tzinfo=timezone.utc)
    event = events.lead_created(conversation_id="c1", channel="rest", lead=sample_lead(), created_at=moment)
    assert event["type"] == "lead.created"
    assert event["schema_version"] == events.SCHEMA_VERSION == 1
    assert event["conversation_id"] == "c1" and event["channel"] == "rest"
    assert event["created_at"] == "2026-11-27T01:02:03Z"
    assert uuid.UUID(event["id"]).version == 4
    assert events.validate_event(event) == []


def test_created_at_is_converted_to_utc_and_defaults_to_now():
    pacific = timezone(timedelta(hours=-8))
    event = events.callback_requested(
        conversation_id="c",
        channel="sms",
        lead={"concern": "ptsd", "contact": {"phone": "+18185550123"}},
        created_at=datetime(2026, 11, 26, 17, 2, 3, tzinfo=pacific),
    )
    assert event["created_at"] == "2026-11-27T01:02:03Z"
    fresh = events.crisis_alert(
        conversation_id="c", channel="rest", severity="moderate", categories=[], message="", contact=None
    )
    age = datetime.now(timezone.utc) - events.parse_timestamp(fresh["created_at"])
    assert timedelta(0) <= age < timedelta(seconds=5)
    assert fresh["contact"] == {}
    with pytest.raises(ValueError):
        events.lead_created(conversation_id="c", channel="rest", lead=sample_lead(), created_at="yesterday")


def test_stable_event_id_is_deterministic_and_distinct():
    first = events.stable_event_id("conv-9", "lead", 1)
    assert first == events.stable_event_id("conv-9", "lead", 1)
    assert first == events.stable_event_id("conv-9", "lead", "1")  # the sequence is used as text
    assert (
        len(
            {
                first,
                events.stable_event_id("conv-9", "lead", 2),
                events.stable_event_id("conv-9", "crisis", 1),
                events.stable_event_id("conv-8", "lead", 1),
            }
        )
        == 4
    )
    assert uuid.UUID(first).version == 5
    # no ambiguity from separators inside the parts
    assert events.stable_event_id("a-b", "c", 1) != events.stable_event_id("a", "b-c", 1)


def test_constructors_copy_their_inputs():
    lead = sample_lead()
    event = events.lead_created(conversation_id="c", channel="rest", lead=lead)
    lead["outcome"] = "not_eligible"
    assert event["lead"]["outcome"] == "qualified"


def test_encoding_is_stable_bytes():
    event = make_lead_event()
    assert encode_event(event) == encode_event(copy.deepcopy(event))
    assert encode_event(event) == encode_event(dict(reversed(list(event.items()))))


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda e: e.pop("id"), "id:"),
        (lambda e: e.update(id="not-a-uuid"), "id:"),
        (lambda e: e.update(schema_version=2), "schema_version:"),
        (lambda e: e.update(schema_version=True), "schema_version:"),
        (lambda e: e.update(type="lead.updated"), "type:"),
        (lambda e: e.update(conversation_id=" "), "conversation_id:"),
        (lambda e: e.update(conversation_id="c" * 501), "conversation_id:"),
        (lambda e: e.pop("channel"), "channel:"),
        (lambda e: e.update(channel="x" * 65), "channel:"),
        (lambda e: e.update(created_at="2026-11-27 01:02:03"), "created_at:"),
        (lambda e: e.update(lead=[]), "lead:"),
        (lambda e: e["lead"].update(outcome="maybe"), "lead.outcome:"),
        (lambda e: e["lead"].pop("outcome"), "lead.outcome: missing"),
        (lambda e: e["lead"].update(concern=" "), "lead.concern:"),
        (lambda e: e["lead"].pop("concern"), "lead.concern: missing"),
        (lambda e: e["lead"].update(age=131), "lead.age:"),
        (lambda e: e["lead"].update(age="34"), "lead.age:"),
        (lambda e: e["lead"].update(age=True), "lead.age:"),
        (lambda e: e["lead"].pop("age"), "lead.age: missing"),
        (lambda e: e["lead"].update(contact=None), "lead.contact:"),
        (lambda e: e["lead"]["contact"].pop("first_name"), "lead.contact.first_name: missing"),
        (lambda e: e["lead"]["contact"].update(preferred_method=""), "lead.contact.preferred_method:"),
        (lambda e: e["lead"]["contact"].update(phone="818-555-0123"), "lead.contact.phone:"),
        (lambda e: e["lead"]["contact"].update(email="sam at example"), "lead.contact.email:"),
        (lambda e: e["lead"]["contact"].update(phone=None, email=None), "needs a phone or an email"),
        (lambda e: e["lead"]["contact"].pop("consent_to_contact"), "consent_to_contact: missing"),
        (lambda e: e["lead"]["contact"].update(consent_to_contact="yes"), "consent_to_contact:"),
        (lambda e: e["lead"].update(scores=[]), "lead.scores:"),
        (lambda e: e["lead"]["scores"].update(gad7=22), "lead.scores.gad7:"),
        (lambda e: e["lead"]["scores"].update(pcptsd5="2"), "lead.scores.pcptsd5:"),
        (lambda e: e["lead"]["scores"].pop("phq9"), "lead.scores.phq9: missing"),
        (lambda e: e["lead"]["scores"].update(oci4=-1), "lead.scores.oci4:"),
        (lambda e: e["lead"]["answers"][0].pop("value"), "lead.answers[0].value: missing"),
        (lambda e: e["lead"]["answers"].append("x"), "lead.answers[1]:"),
        (lambda e: e["lead"]["answers"][0].update(answer=""), "lead.answers[0].answer:"),
        (lambda e: e["lead"].update(answers={}), "lead.answers:"),
        (lambda e: e["lead"]["contraindications"][0].update({"class": "severe"}), "contraindications[0].class:"),
        (lambda e: e["lead"]["contraindications"][0].pop("source"), "contraindications[0].source: missing"),
        (lambda e: e["lead"]["reasons"][0].pop("text"), "lead.reasons[0].text: missing"),
        (lambda e: e["lead"].pop("reasons"), "lead.reasons: missing"),
        (lambda e: e["lead"].update(crisis=None), "lead.crisis:"),
        (lambda e: e["lead"]["crisis"].update(flagged="no"), "lead.crisis.flagged:"),
        (lambda e: e["lead"]["crisis"].update(categories=[1]), "lead.crisis.categories:"),
    ],
)
def test_validate_event_names_the_broken_lead_field(mutate, expected):
    event = make_lead_event()
    mutate(event)
    problems = events.validate_event(event)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda e: e.update(severity="urgent"), "severity:"),
        (lambda e: e.update(categories="suicidal_ideation"), "categories:"),
        (lambda e: e.update(categories=["suicidal_ideation", " "]), "categories: item 1"),
        (lambda e: e.update(message=None), "message:"),
        (lambda e: e.pop("message"), "message: missing"),
        (lambda e: e.update(contact=None), "contact:"),
    ],
)
def test_validate_event_names_the_broken_crisis_field(mutate, expected):
    event = make_crisis_event()
    mutate(event)
    assert any(expected in problem for problem in events.validate_event(event))


def make_callback_event() -> dict:
    return events.callback_requested(
        conversation_id="c", channel="rest", lead={"concern": "ptsd", "contact": {"phone": "+18185550123"}}
    )


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda e: e.update(lead="call me"), "lead:"),
        (lambda e: e.pop("lead"), "lead: missing"),
        (lambda e: e["lead"].pop("concern"), "lead.concern: missing"),
        (lambda e: e["lead"].pop("contact"), "lead.contact: missing"),
        (lambda e: e["lead"]["contact"].update(phone="555"), "lead.contact.phone:"),
        (lambda e: e["lead"]["contact"].update(email="nobody"), "lead.contact.email:"),
        (lambda e: e["lead"]["contact"].update(consent_to_contact="yes"), "lead.contact.consent_to_contact:"),
    ],
)
def test_validate_event_names_the_broken_callback_field(mutate, expected):
    event = make_callback_event()
    mutate(event)
    assert any(expected in problem for problem in events.validate_event(event))


def test_whole_numbers_must_be_sent_as_integers():
    # JSON Schema counts 34.0 as an integer; the producer is stricter, so receivers always get 34.
    for mutate in (lambda e: e["lead"].update(age=34.0), lambda e: e["lead"]["scores"].update(gad7=16.0)):
        event = make_lead_event()
        mutate(event)
        assert events.validate_event(event), event["lead"]


def test_envelope_problems_check_only_the_envelope():
    event = make_lead_event()
    event["lead"]["outcome"] = "maybe"
    assert events.envelope_problems(event) == [] and events.validate_event(event)
    del event["created_at"]
    assert events.envelope_problems(event) == ["created_at: missing"]
    assert events.envelope_problems({"type": "lead.deleted"})[-1].startswith("type: must be one of")
    assert events.envelope_problems(["not", "an", "event"]) == ["event: must be an object"]


def test_each_schema_is_checked_and_compiled_once(monkeypatch):
    checked = []
    check_schema = events.Draft202012Validator.check_schema
    monkeypatch.setattr(
        events.Draft202012Validator,
        "check_schema",
        classmethod(lambda cls, schema: checked.append(schema.get("$id")) or check_schema(schema)),
    )
    events._validator.cache_clear()
    try:
        for _ in range(3):
            assert events.validate_event(make_lead_event()) == []
            assert events.validate_event(make_crisis_event()) == []
    finally:
        events._validator.cache_clear()
    assert sorted(checked, key=str) == sorted(
        [None, *(events.event_schema(t)["$id"] for t in ("lead.created", "crisis.alert"))], key=str
    )


def test_valid_events_of_every_type_pass():
    callback = events.callback_requested(
        conversation_id="c", channel="rest", lead={"concern": None, "contact": {"email": "a@b.co", "first_name": "A"}}
    )
    not_eligible = sample_lead(outcome="not_eligible", age=None, scores={"gad7": None, "phq9": None})
    for event in (
        make_lead_event(),
        make_crisis_event(),
        callback,
        events.lead_created(conversation_id="c", channel="rest", lead=not_eligible),
    ):
        assert events.validate_event(event) == [], event["type"]


def test_callback_needs_a_way_to_reach_the_visitor():
    event = events.callback_requested(conversation_id="c", channel="rest", lead={"concern": "ocd", "contact": {}})
    assert any("needs a phone or an email" in p for p in events.validate_event(event))


def test_garbage_gets_a_clear_answer_not_a_crash():
    assert events.validate_event(None) == ["event: must be an object"]
    assert events.validate_event("lead") == ["event: must be an object"]
    assert len(events.validate_event({})) >= 5


def test_problems_never_contain_visitor_text():
    secret_words = "I want to disappear tonight"
    event = make_crisis_event(message=secret_words)
    event["severity"] = secret_words
    event["categories"] = [secret_words, 3]
    lead = make_lead_event()
    lead["lead"]["contact"]["phone"] = secret_words
    lead["lead"]["answers"][0]["answer"] = ""
    for problem in events.validate_event(event) + events.validate_event(lead):
        assert secret_words not in problem

"""The JSON Schemas in docs/schemas, read by any receiver's validator, agree with validate_event on real events."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.handoff import events
from bot.safety.detector import SEVERITY_ORDER
from bot.screening.model import OUTCOMES
from tests.bot.handoff.test_events import make_callback_event
from tests.bot.handoff.test_events import test_validate_event_names_the_broken_callback_field as callback_cases
from tests.bot.handoff.test_events import test_validate_event_names_the_broken_crisis_field as crisis_cases
from tests.bot.handoff.test_events import test_validate_event_names_the_broken_lead_field as lead_cases
from tests.handoff_fixtures import make_crisis_event, make_lead_event, sample_lead

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def validator_for(event_type: str):
    schema = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(event: dict) -> list:
    return list(validator_for(event["type"]).iter_errors(event))


def test_every_event_type_has_a_schema():
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(events.EVENT_TYPES)


def test_constructed_events_validate_against_the_published_schemas():
    samples = [
        make_lead_event(),
        events.lead_created(
            conversation_id="c",
            channel="sms",
            lead=sample_lead(
                outcome="needs_review",
                scores={"gad7": 9, "phq9": 21, "oci4": 8},
                crisis={"flagged": True, "categories": ["self_harm"]},
            ),
        ),
        make_crisis_event(),
        events.crisis_alert(
            conversation_id="c",
            channel="rest",
            severity="imminent",
            categories=[],
            message="",
            contact={"phone": "+13105550100"},
        ),
        events.callback_requested(
            conversation_id="c",
            channel="rest",
            lead={"concern": "depression", "contact": {"phone": "+13105550100", "first_name": "Lee"}},
        ),
    ]
    for event in samples:
        assert events.validate_event(event) == []
        assert schema_errors(event) == [], event["type"]


def _mutations(case_function):
    marker = case_function.pytestmark[0]
    return [mutate for mutate, _ in marker.args[1]]


@pytest.mark.parametrize("mutate", _mutations(lead_cases))
def test_schema_rejects_what_validate_event_rejects_for_leads(mutate):
    event = make_lead_event()
    mutate(event)
    assert events.validate_event(event)
    if event.get("type") in events.EVENT_TYPES:
        assert schema_errors(event), "schema accepted an event validate_event rejects"


@pytest.mark.parametrize("mutate", _mutations(crisis_cases))
def test_schema_rejects_what_validate_event_rejects_for_crisis_alerts(mutate):
    event = make_crisis_event()
    mutate(event)
    assert events.validate_event(event) and schema_errors(event)


@pytest.mark.parametrize("mutate", _mutations(callback_cases))
def test_schema_rejects_what_validate_event_rejects_for_callbacks(mutate):
    event = make_callback_event()
    mutate(event)
    assert events.validate_event(event) and schema_errors(event)


def test_every_schema_has_the_same_envelope():
    # validate_event's envelope check is taken from one schema; a receiver reads each on its own.
    for event_type in events.EVENT_TYPES:
        schema = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text())
        assert schema["properties"]["type"] == {"const": event_type}
        assert set(events.ENVELOPE_FIELDS) <= set(schema["required"])
        envelope = {name: schema["properties"][name] for name in events.ENVELOPE_FIELDS if name != "type"}
        assert envelope == {
            name: events.envelope_schema()["properties"][name] for name in events.ENVELOPE_FIELDS if name != "type"
        }


def test_schemas_use_the_values_the_code_produces():
    lead_schema = events.event_schema("lead.created")
    assert lead_schema["properties"]["schema_version"] == {"const": events.SCHEMA_VERSION}
    assert tuple(lead_schema["properties"]["lead"]["properties"]["outcome"]["enum"]) == OUTCOMES
    assert tuple(events.event_schema("crisis.alert")["properties"]["severity"]["enum"]) == SEVERITY_ORDER


def test_schemas_need_no_format_checker():
    # Formats (date-time, email...) would be checked only with a format checker; the schemas use patterns.
    text = " ".join((SCHEMA_DIR / f"{t}.json").read_text() for t in events.EVENT_TYPES)
    assert '"format"' not in text


def test_wrong_type_is_rejected_by_each_schema():
    event = make_crisis_event()
    assert list(validator_for("lead.created").iter_errors(event))

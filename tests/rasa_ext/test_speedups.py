"""rasa_ext/speedups.py: each patch gives what stock Rasa 3.6.21 gives (same acceptance, same errors)."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_ext import speedups

STOCK_VALIDATE = RemoteAction.__dict__["_validate_action_result"]
STOCK_VALIDATE = getattr(STOCK_VALIDATE, "stock", STOCK_VALIDATE)  # the original, even once installed

# Replies an action server gives (what our actions send: slots, bot messages with buttons and metadata, the
# form's events) and replies Rasa must refuse (wrong types, unknown or incomplete events).
GOOD: List[Dict[str, Any]] = [
    {},
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "timestamp": None, "name": "answer", "value": None},
            {"event": "slot", "timestamp": 1.5, "name": "screening", "value": {"answers": {"age": 34}, "run": 1}},
            {"event": "slot", "name": "requested_slot", "value": "answer"},
            {"event": "active_loop", "name": None},
            {"event": "followup", "name": "action_listen"},
            {"event": "action_execution_rejected", "name": "screening_form"},
            {"event": "bot", "text": "hello", "data": {}, "metadata": {"numbered_options": "gad7_1"}},
            {"event": "reset_slots"},
            {"event": "restart"},
            {"event": "session_started", "metadata": None},
        ],
        "responses": [
            {"text": "How old are you?", "buttons": [], "elements": [], "custom": {}, "template": None},
            {"text": "Consent?", "buttons": [{"title": "Yes", "payload": "Yes"}], "numbered_options": "consent"},
        ],
    },
    {
        "events": [
            {
                "event": "user",
                "text": "hi",
                "input_channel": "rest",
                "message_id": "abc",
                "parse_data": {
                    "text": "hi",
                    "intent": {"name": "greet", "confidence": 0.9},
                    "intent_ranking": [{"name": "greet", "confidence": 0.9}],
                    "entities": [{"entity": "age", "value": 34, "start": 0, "end": 2, "extractor": None}],
                    "response_selector": {"all_retrieval_intents": ["faq"]},
                },
            },
            {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
            {"event": "entities", "entities": []},
        ]
    },
]
BAD: List[Any] = [
    {"events": {}},
    {"events": "none"},
    {"responses": {}},
    {"responses": ["text"]},
    {"events": [{}]},
    {"events": [{"event": 3}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": "answer"}]},
    {"events": [{"event": "slot", "value": 1}]},
    {"events": [{"event": "slot", "name": 5, "value": 1}]},
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
    {"events": [{"event": "bot", "metadata": []}]},
    {"events": [{"event": "action", "name": 7}]},
    {"events": [{"event": "action", "name": "x", "hide_rule_turn": "yes"}]},
    {"events": [{"event": "entities"}]},
    {"events": [{"event": "entities", "entities": [{"entity": "x"}]}]},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 1}}}]},
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "slot", "name": "a", "value": 1}, "slot"]},
    [],
    "reply",
    None,
]


def error_of(validate: Any, reply: Any) -> Optional[Dict[str, Any]]:
    try:
        validate(copy.deepcopy(reply))
    except jsonschema.ValidationError as error:
        return {
            "message": error.message,
            "path": list(error.path),
            "schema_path": list(error.schema_path),
            "validator": error.validator,
            "context": [c.message for c in error.context],
        }
    return None


@pytest.fixture(scope="module")
def installed() -> List[str]:
    return speedups.install()


def test_installs_every_patch_on_rasa_3_6_21(installed):
    assert speedups.rasa_version() == speedups.SUPPORTED_RASA
    assert installed == ["cached_response_validator", "cached_event_lookup", "incremental_applied_events"]
    assert RemoteAction._validate_action_result is not STOCK_VALIDATE
    assert speedups.install() == installed  # once only


@pytest.mark.parametrize("reply", GOOD)
def test_accepts_what_stock_rasa_accepts(installed, reply):
    action = RemoteAction("validate_screening_form", None)
    assert STOCK_VALIDATE(action, copy.deepcopy(reply)) is True
    assert action._validate_action_result(copy.deepcopy(reply)) is True


@pytest.mark.parametrize("reply", BAD)
def test_refuses_what_stock_rasa_refuses_with_the_same_error(installed, reply):
    action = RemoteAction("action_ask_answer", None)
    stock = error_of(lambda r: STOCK_VALIDATE(action, r), reply)
    patched = error_of(action._validate_action_result, reply)
    assert stock is not None
    assert patched == stock
    assert "Failed to validate Action server response from API" in patched["message"]


@pytest.mark.parametrize("reply", GOOD + BAD)
def test_the_cached_validator_decides_as_jsonschema_validate(reply):
    schema = RemoteAction.action_response_format_spec()
    validate = speedups.response_validator()
    assert error_of(validate, reply) == error_of(lambda r: jsonschema.validate(r, schema), reply)


def test_a_subclass_with_its_own_schema_keeps_stock_validation(installed):
    class Strict(RemoteAction):
        @staticmethod
        def action_response_format_spec() -> Dict[str, Any]:
            return {"type": "object", "required": ["events"]}

    with pytest.raises(jsonschema.ValidationError):
        Strict("x", None)._validate_action_result({"responses": []})
    assert RemoteAction("x", None)._validate_action_result({"responses": []}) is True


def test_another_rasa_version_gets_no_patch_and_an_error_line(monkeypatch, caplog):
    monkeypatch.setattr(speedups, "_installed", [])
    monkeypatch.setattr(speedups, "rasa_version", lambda: "3.6.22")
    with caplog.at_level("ERROR", logger="rasa_ext.speedups"):
        assert speedups.install() == []
    assert "written for Rasa 3.6.21, this is Rasa 3.6.22" in caplog.text
    assert speedups.installed() == []


def event_names() -> List[str]:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    return sorted({cls.type_name for cls in all_subclasses(Event)})


def test_the_event_lookup_finds_the_class_stock_rasa_finds(installed):
    from rasa.shared.core.events import Event, SlotSet

    assert "cached_event_lookup" in installed
    stock = Event.resolve_by_type.stock
    assert Event.resolve_by_type is not stock
    names = event_names()
    assert len(names) > 20
    for _ in range(2):  # the second time from what was remembered
        for name in names:
            assert Event.resolve_by_type(name) is stock(name), name
            assert Event.resolve_by_type(name, SlotSet) is stock(name, SlotSet), name
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_events_deserialise_as_with_stock_rasa(installed):
    from rasa.shared.core import events

    replies = [
        {**event, "timestamp": 1700000000.0 + n} for n, event in enumerate(e for r in GOOD for e in r.get("events", []))
    ]
    patched = events.deserialise_events(copy.deepcopy(replies))
    resolve = events.Event.resolve_by_type
    try:
        events.Event.resolve_by_type = staticmethod(resolve.stock)
        stock = events.deserialise_events(copy.deepcopy(replies))
    finally:
        events.Event.resolve_by_type = staticmethod(resolve)
    assert [type(e) for e in patched] == [type(e) for e in stock]
    assert [e.as_dict() for e in patched] == [e.as_dict() for e in stock]
    assert len(patched) == len(replies)


@pytest.mark.parametrize(("setting", "enabled"), [("", True), ("on", True), ("off", False), ("false", False)])
def test_the_rasa_server_installs_them_unless_rasa_speedups_is_off(monkeypatch, setting, enabled):
    import runpy

    from services import rasa_server

    calls: List[Any] = []
    monkeypatch.setenv("RASA_SPEEDUPS", setting)
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RASA_AUTH_TOKEN_FILE", raising=False)
    monkeypatch.setattr(speedups, "install", lambda enabled=True: calls.append(("install", enabled)))
    monkeypatch.setattr(runpy, "run_module", lambda name, **kwargs: calls.append(("run", name)))
    monkeypatch.setattr("sys.argv", ["rasa_server"])
    rasa_server.main(["--port", "1"])
    assert calls == [("install", enabled), ("run", "rasa")]


def test_off_installs_nothing(monkeypatch, caplog):
    monkeypatch.setattr(speedups, "_installed", [])
    with caplog.at_level("WARNING", logger="rasa_ext.speedups"):
        assert speedups.install(enabled=False) == []
    assert "RASA_SPEEDUPS is off" in caplog.text


def random_events(rng: Any, count: int) -> List[Any]:
    """Event sequences with what `applied_events` treats specially: loops (activated, executed, rejected,
    deactivated), reverted actions and utterances, restarts and new sessions, among ordinary turns."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionExecutionRejected,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )

    makers = [
        lambda: ActionExecuted("action_listen"),
        lambda: UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        lambda: ActionExecuted(rng.choice(["screening_form", "other_form", "action_answer_clinic_question"])),
        lambda: ActiveLoop(rng.choice(["screening_form", "other_form", None])),
        lambda: ActionExecutionRejected(rng.choice(["screening_form", "other_form"])),
        lambda: SlotSet("answer", rng.choice([None, "x"])),
        lambda: BotUttered("question"),
        lambda: ActionReverted(),
        lambda: UserUtteranceReverted(),
        lambda: Restarted(),
        lambda: SessionStarted(),
    ]
    weights = [6, 6, 8, 3, 2, 4, 4, 1, 1, 0.3, 0.3]
    return [rng.choices(makers, weights)[0]() for _ in range(count)]


@pytest.mark.parametrize("seed", range(40))
def test_applied_events_match_stock_rasa_as_a_conversation_grows(installed, seed):
    import random

    from rasa.shared.core.trackers import DialogueStateTracker

    assert "incremental_applied_events" in installed
    stock = DialogueStateTracker.applied_events.stock
    rng = random.Random(seed)
    tracker = DialogueStateTracker("t", [])
    for event in random_events(rng, 160):
        tracker.events.append(event)  # what tracker.update does to the events
        if rng.random() < 0.5:
            assert tracker.applied_events() == stock(tracker)
            assert tracker.applied_events() == stock(tracker)  # asked again, unchanged
    assert tracker.applied_events() == stock(tracker)
    rebuilt = DialogueStateTracker.from_events("t", list(tracker.events))
    assert rebuilt.applied_events() == stock(rebuilt)


def test_applied_events_after_the_events_are_replaced_or_bounded(installed):
    import random

    from rasa.shared.core.trackers import DialogueStateTracker

    stock = DialogueStateTracker.applied_events.stock
    rng = random.Random(7)
    tracker = DialogueStateTracker("t", [])
    for event in random_events(rng, 60):
        tracker.events.append(event)
    assert tracker.applied_events() == stock(tracker)
    tracker.events.pop()
    tracker.events.append(random_events(rng, 1)[0])  # same length, another last event
    assert tracker.applied_events() == stock(tracker)
    tracker.events.clear()
    assert tracker.applied_events() == stock(tracker) == []
    for event in random_events(rng, 30):
        tracker.events.append(event)
    assert tracker.applied_events() == stock(tracker)
    tracker.events = tracker._create_events(random_events(rng, 30))  # another deque
    assert tracker.applied_events() == stock(tracker)
    bounded = DialogueStateTracker("b", [], max_event_history=10)
    for event in random_events(rng, 40):
        bounded.events.append(event)
        assert bounded.applied_events() == stock(bounded)


def test_a_returned_list_is_the_callers_own(installed):
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events("t", [ActionExecuted("action_listen"), UserUttered("hi")])
    first = tracker.applied_events()
    first.clear()
    assert len(tracker.applied_events()) == 2

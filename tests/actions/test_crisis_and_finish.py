"""Crisis response and the end of a screening, with rasa-sdk trackers and a real SQLite outbox."""
from __future__ import annotations

import json

import pytest

from actions import services
from actions.crisis import ActionCrisisResponse
from actions.finish import ActionFinishScreening
from actions.interruptions import ActionAnswerClinicQuestion, ActionStartOver, ActionStop
from bot.screening.state import ScreeningState
from bot.handoff.events import validate_event
from bot.safety.episode import CrisisState
from tests.actions.conftest import make_tracker


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def stored_events():
    items = services.outbox().claim_due(__import__("datetime").datetime.now(__import__("datetime").timezone.utc), 50)
    return [json.loads(item.body) for item in items]


@pytest.mark.asyncio
async def test_crisis_reply_has_988_and_alerts_staff_once_per_episode(dispatcher, domain):
    tracker = make_tracker("i want to kill myself", intent="crisis", confidence=1.0, sender="crisis-1")
    slots = slot_events(await ActionCrisisResponse().run(dispatcher, tracker, domain))
    reply = dispatcher.messages[0]["text"]
    assert "988" in reply and "911" in reply and "741741" in reply
    assert "\n\n" not in reply
    state = CrisisState.from_slot(slots["crisis"])
    assert state.open and state.flagged and "suicidal_thoughts" in state.categories
    # A second risk message in the same episode: a reply again, but no second alert.
    dispatcher.messages.clear()
    tracker = make_tracker("i really mean it", intent="crisis", slots={"crisis": slots["crisis"]}, sender="crisis-1")
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert "988" in dispatcher.messages[0]["text"]
    events = stored_events()
    assert len(events) == 1
    alert = events[0]
    assert alert["type"] == "crisis.alert"
    assert alert["message"] == "i want to kill myself"
    assert alert["conversation_id"] == "crisis-1"
    assert validate_event(alert) == []


@pytest.mark.asyncio
async def test_model_only_crisis_still_escalates(dispatcher, domain):
    tracker = make_tracker("everything is pointless and I am done", intent="crisis", confidence=0.6)
    slots = slot_events(await ActionCrisisResponse().run(dispatcher, tracker, domain))
    assert "988" in dispatcher.messages[0]["text"]
    assert CrisisState.from_slot(slots["crisis"]).categories == ("unspecified",)
    assert stored_events()[0]["severity"] == "high"


@pytest.mark.asyncio
async def test_sms_alert_carries_the_sender_phone(dispatcher, domain):
    tracker = make_tracker("I took too many pills", intent="crisis", sender="+18185550134", channel="twilio")
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert stored_events()[0]["contact"]["phone"] == "+18185550134"


def complete_answers(**overrides):
    answers = {"consent": "yes", "concern": "anxiety", "age": 34}
    answers.update({f"gad7_{i}": "nearly_every_day" for i in range(1, 8)})
    answers.update({f"phq9_{i}": "more_than_half" for i in range(1, 9)})
    answers["phq9_9"] = "not_at_all"
    answers.update({"tx_antidepressants": "2_or_more", "tx_therapy": "yes", "tx_current_meds": "none"})
    for item in ("pregnancy", "psychosis", "bipolar", "hypertension", "heart", "substance",
                 "ketamine_reaction", "liver", "pressure", "thyroid"):
        answers[f"ci_{item}"] = "no"
    answers.update({
        "contact_first_name": "Maria", "contact_phone": "+18185550134", "contact_email": "maria@example.com",
        "contact_method": "text", "contact_best_time": "morning", "contact_consent": "yes",
    })
    answers.update(overrides)
    return answers


@pytest.mark.asyncio
async def test_finish_stores_one_lead_then_says_already_done(dispatcher, domain):
    screening = ScreeningState(answers=complete_answers()).to_slot()
    tracker = make_tracker("", slots={"screening": screening}, requested_slot=None, active_loop=None, sender="lead-1")
    slots = slot_events(await ActionFinishScreening().run(dispatcher, tracker, domain))
    assert slots["lead_id"]
    assert "Maria" in dispatcher.messages[0]["text"]
    events = stored_events()
    assert len(events) == 1 and events[0]["type"] == "lead.created"
    assert events[0]["lead"]["outcome"] == "qualified"
    assert validate_event(events[0]) == []
    dispatcher.messages.clear()
    tracker = make_tracker("", slots={"screening": slots["screening"], "lead_id": slots["lead_id"]},
                           requested_slot=None, active_loop=None, sender="lead-1")
    await ActionFinishScreening().run(dispatcher, tracker, domain)
    assert dispatcher.messages and stored_events() == []


@pytest.mark.asyncio
async def test_no_lead_without_consent_to_contact(dispatcher, domain):
    screening = ScreeningState(answers=complete_answers(contact_consent="no")).to_slot()
    tracker = make_tracker("", slots={"screening": screening}, requested_slot=None, active_loop=None)
    slots = slot_events(await ActionFinishScreening().run(dispatcher, tracker, domain))
    assert "lead_id" not in slots
    assert stored_events() == []


@pytest.mark.asyncio
async def test_no_lead_for_a_minor(dispatcher, domain):
    screening = ScreeningState(answers={"consent": "yes", "concern": "ocd", "age": 15}).to_slot()
    tracker = make_tracker("", slots={"screening": screening}, requested_slot=None, active_loop=None)
    await ActionFinishScreening().run(dispatcher, tracker, domain)
    assert "adult" in dispatcher.messages[0]["text"].lower()
    assert stored_events() == []


@pytest.mark.asyncio
async def test_clinic_question_answer_comes_from_the_profile(dispatcher, domain):
    tracker = make_tracker("how much is it", intent="ask_cost")
    await ActionAnswerClinicQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == services.clinic().faq["cost"]


@pytest.mark.asyncio
async def test_start_over_keeps_the_crisis_flag(dispatcher, domain):
    crisis = CrisisState(flagged=True, categories=("self_harm",), episodes=1).to_slot()
    screening = ScreeningState(answers={"consent": "yes"}, run=1).to_slot()
    tracker = make_tracker("start over", intent="start_over", slots={"screening": screening, "crisis": crisis})
    slots = slot_events(await ActionStartOver().run(dispatcher, tracker, domain))
    assert ScreeningState.from_slot(slots["screening"]).answers == {}
    assert ScreeningState.from_slot(slots["screening"]).run == 2
    assert "crisis" not in slots


@pytest.mark.asyncio
async def test_stop_ends_the_form(dispatcher, domain):
    tracker = make_tracker("stop", intent="stop")
    events = await ActionStop().run(dispatcher, tracker, domain)
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert ScreeningState.from_slot(slot_events(events)["screening"]).ended == "stopped"

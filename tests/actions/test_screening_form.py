"""The data-driven validator and ask action, with rasa-sdk trackers (no model needed)."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions import runtime
from actions.screening_form import ActionAskAnswer, ValidateScreeningForm
from bot.safety.episode import CrisisState
from bot.screening.state import ScreeningState
from tests.actions.conftest import make_tracker
from tests.bot.screening.conftest import answers_before


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def pending_events():
    return runtime.outbox().stats()["pending"]


async def run_form(text, dispatcher, domain, **kwargs):
    tracker = make_tracker(text, **kwargs)
    return slot_events(await ValidateScreeningForm().run(dispatcher, tracker, domain))


@pytest.mark.asyncio
async def test_first_question_is_consent_with_its_preface_once(dispatcher, domain):
    tracker = make_tracker("hi", requested_slot=None)
    events = await ActionAskAnswer().run(dispatcher, tracker, domain)
    texts = [m["text"] for m in dispatcher.messages]
    assert any("988" in t for t in texts[:-1])
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == ["Yes", "No"]
    assert events == [SlotSet("last_asked", "consent")]
    dispatcher.messages.clear()
    tracker = make_tracker("hi", slots={"last_asked": "consent"})
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1  # a re-ask has no preface


@pytest.mark.asyncio
async def test_a_valid_answer_is_recorded_and_the_slot_cleared(dispatcher, domain):
    slots = await run_form("Yes", dispatcher, domain, intent="affirm")
    assert slots["answer"] is None
    assert ScreeningState.from_slot(slots["screening"]).answers["consent"] == "yes"


@pytest.mark.asyncio
async def test_an_unusable_reply_reasks_with_guidance(dispatcher, domain):
    slots = await run_form("purple", dispatcher, domain)
    assert slots == {"answer": None}
    assert dispatcher.messages and "Yes" in dispatcher.messages[0]["text"]


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", ["/affirm", '/affirm{"consent": true}', '/inform{"answer": "Yes"}'])
async def test_typed_intent_payloads_do_not_answer(dispatcher, domain, payload):
    slots = await run_form(payload, dispatcher, domain, intent="affirm", confidence=1.0)
    assert "screening" not in slots


@pytest.mark.asyncio
@pytest.mark.parametrize("intent", ["faq", "stop", "talk_to_human", "crisis"])
async def test_interruptions_are_left_to_the_rules(dispatcher, domain, intent):
    slots = await run_form("how much is it", dispatcher, domain, intent=intent)
    assert "answer" not in slots and "screening" not in slots


@pytest.mark.asyncio
async def test_a_valid_answer_wins_over_a_misread_intent(dispatcher, domain):
    slots = await run_form("No", dispatcher, domain, intent="stop", confidence=0.7)
    assert ScreeningState.from_slot(slots["screening"]).answers["consent"] == "no"


@pytest.mark.asyncio
async def test_nothing_is_extracted_from_the_message_that_starts_the_form(dispatcher, domain):
    slots = await run_form("Yes", dispatcher, domain, requested_slot=None, active_loop=None)
    assert "screening" not in slots


@pytest.mark.asyncio
async def test_phq9_item9_above_not_at_all_escalates_and_alerts_once(dispatcher, domain):
    answers = {"consent": "yes", "concern": "depression", "age": 40}
    answers.update({f"gad7_{i}": "not_at_all" for i in range(1, 8)})
    answers.update({f"phq9_{i}": "several_days" for i in range(1, 9)})
    screening = ScreeningState(answers=answers).to_slot()
    slots = await run_form("Several days", dispatcher, domain, slots={"screening": screening})
    crisis = CrisisState.from_slot(slots["crisis"])
    assert crisis.flagged and crisis.open
    assert "phq9_item9" in crisis.categories
    assert any("988" in m["text"] for m in dispatcher.messages)
    assert pending_events() == 1
    # The next question is the safety check, not PHQ-9 or anything after it.
    dispatcher.messages.clear()
    tracker = make_tracker("", slots={"screening": slots["screening"], "crisis": slots["crisis"]})
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["text"] == "Are you safe right now?"


@pytest.mark.asyncio
async def test_crisis_followup_resumes_only_when_the_visitor_wants_to(dispatcher, domain):
    # Self-harm: no C-SSRS; "yes" leads to the call-back offer, "no thanks" to "keep going or stop?".
    open_state = CrisisState(
        flagged=True, open=True, stage="ask_safe", categories=("self_harm",), severity="high", episodes=1
    ).to_slot()
    slots = await run_form("yes", dispatcher, domain, slots={"crisis": open_state})
    assert CrisisState.from_slot(slots["crisis"]).stage == "ask_callback"
    slots = await run_form("No thanks", dispatcher, domain, slots={"crisis": slots["crisis"]})
    crisis = CrisisState.from_slot(slots["crisis"])
    assert crisis.open and crisis.stage == "ask_continue"
    slots = await run_form("Stop for now", dispatcher, domain, slots={"crisis": slots["crisis"]})
    assert not CrisisState.from_slot(slots["crisis"]).open
    assert ScreeningState.from_slot(slots["screening"]).ended == "stopped"


@pytest.mark.asyncio
async def test_form_requires_nothing_once_the_screening_ended(dispatcher, domain):
    ended = ScreeningState(answers={"consent": "no"}).to_slot()
    tracker = make_tracker("hello", slots={"screening": ended})
    required = await ValidateScreeningForm().required_slots(["answer"], dispatcher, tracker, domain)
    assert required == []


@pytest.mark.asyncio
async def test_the_form_resuming_after_an_interruption_takes_no_answer(dispatcher, domain):
    tracker = make_tracker("Yes", intent="affirm")
    tracker.events += [
        {"event": "action", "name": "action_crisis_response"},
        {"event": "slot", "name": "crisis", "value": None},
        {"event": "action", "name": "screening_form"},
    ]
    slots = slot_events(await ValidateScreeningForm().run(dispatcher, tracker, domain))
    assert "screening" not in slots and "answer" not in slots


# On SMS the number that texted is confirmed at the phone question (the channel passes it in the metadata).
SMS_NUMBER = "+18185550134"


def up_to_the_phone_question():
    return ScreeningState(answers=answers_before("contact_phone")).to_slot()


@pytest.mark.asyncio
async def test_on_sms_the_phone_question_confirms_the_number_that_texted(dispatcher, domain):
    sms = {"channel": "sms", "sender": "sms:0f3a", "metadata": {"phone": SMS_NUMBER}}
    tracker = make_tracker("Maria", slots={"screening": up_to_the_phone_question()}, **sms)
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["text"] == "Is (818) 555-0134 the best number to reach you?"
    slots = await run_form("1", dispatcher, domain, slots={"screening": up_to_the_phone_question()}, **sms)
    assert ScreeningState.from_slot(slots["screening"]).answers["contact_phone"] == SMS_NUMBER
    slots = await run_form("No", dispatcher, domain, slots={"screening": up_to_the_phone_question()}, **sms)
    declined = ScreeningState.from_slot(slots["screening"])
    assert "contact_phone" not in declined.answers and declined.known_phone_declined
    dispatcher.messages.clear()
    tracker = make_tracker("No", slots={"screening": slots["screening"]}, **sms)
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["text"] == "What is the best phone number to reach you?"


@pytest.mark.asyncio
async def test_other_channels_are_asked_for_a_number_whatever_their_metadata_says(dispatcher, domain):
    tracker = make_tracker("Maria", slots={"screening": up_to_the_phone_question()}, metadata={"phone": SMS_NUMBER})
    await ActionAskAnswer().run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["text"] == "What is the best phone number to reach you?"

"""Clinic questions: every one is the `faq` intent, answered with the clinic profile's text for the topic the
response selector picked (`faq/cost` -> faq.cost)."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions import runtime
from actions.interruptions import (
    ActionAnswerClinicQuestion,
    ActionReplyBeforeScreening,
    ActionTalkToHuman,
    selected_faq_topic,
)
from bot.clinic import load_clinic_profile
from tests.actions.conftest import make_tracker


def picked(intent_response_key: object) -> dict:
    """The parse data Rasa's ResponseSelector (retrieval_intent: faq) adds to a message."""
    return {"response_selector": {"faq": {"response": {"intent_response_key": intent_response_key}}}}


async def answer(dispatcher, domain, parse_data: dict) -> str:
    tracker = make_tracker("a clinic question", intent="faq", parse_data=parse_data)
    events = await ActionAnswerClinicQuestion().run(dispatcher, tracker, domain)
    assert events == [{"event": "slot", "timestamp": None, "name": "answer", "value": None}]
    return dispatcher.messages[-1]["text"]


@pytest.mark.asyncio
@pytest.mark.parametrize("topic", sorted(load_clinic_profile().faq))
async def test_each_topic_is_answered_with_its_own_profile_text(dispatcher, domain, topic):
    assert await answer(dispatcher, domain, picked(f"faq/{topic}")) == runtime.clinic().faq[topic]


@pytest.mark.asyncio
async def test_the_full_retrieval_intent_is_used_when_the_selector_output_is_absent(dispatcher, domain):
    parse_data = {"intent": {"name": "faq", "confidence": 0.9, "full_retrieval_intent_name": "faq/hours"}}
    assert await answer(dispatcher, domain, parse_data) == runtime.clinic().faq["hours"]


@pytest.mark.asyncio
@pytest.mark.parametrize("parse_data", [picked("faq/parking"), picked(None), picked("cost"), {}])
async def test_a_topic_without_an_answer_gets_the_call_us_text(dispatcher, domain, parse_data):
    # never a dead end and never another topic's answer
    assert await answer(dispatcher, domain, parse_data) == runtime.clinic().messages["faq_unknown"]


@pytest.mark.parametrize(
    "parse_data, topic",
    [
        (picked("faq/what_is_ketamine"), "what_is_ketamine"),
        ({**picked("faq/cost"), "intent": {"name": "faq", "full_retrieval_intent_name": "faq/hours"}}, "cost"),
        (picked("chitchat/cost"), None),  # another retrieval intent's pick is not a clinic question
        ({"response_selector": {"default": {"response": {"intent_response_key": "faq/cost"}}}}, None),
        ({"intent": {"name": "inform"}}, None),
    ],
)
def test_selected_faq_topic(parse_data, topic):
    assert selected_faq_topic(parse_data) == topic


SPANISH_FIRST_MESSAGES = ["hola, tienen información en español?", "hablan español?", "necesito ayuda en español"]


@pytest.mark.asyncio
@pytest.mark.parametrize("text", SPANISH_FIRST_MESSAGES)
async def test_a_spanish_message_gets_the_spanish_notice_before_the_introduction(dispatcher, domain, text):
    tracker = make_tracker(text, intent="greet", requested_slot=None, active_loop=None)
    assert await ActionReplyBeforeScreening().run(dispatcher, tracker, domain) == []
    [notice] = [m["text"] for m in dispatcher.messages]
    assert "inglés" in notice and runtime.clinic().phone in notice
    assert "988 y oprime 2" in notice and "AYUDA al 741741" in notice and "911" in notice


@pytest.mark.asyncio
@pytest.mark.parametrize("text", ["hi", "hola", "I want to know if I qualify for ketamine"])
async def test_any_other_first_message_gets_nothing_before_the_introduction(dispatcher, domain, text):
    tracker = make_tracker(text, intent="greet", requested_slot=None, active_loop=None)
    assert await ActionReplyBeforeScreening().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


def selector_pick(topic: str, confidence: float) -> dict:
    return {
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": confidence}}}
    }


NURSE = "I'm a nurse and I work nights, do you have evening hours?"


@pytest.mark.asyncio
async def test_a_first_clinic_question_the_classifier_called_inform_is_answered_before_the_introduction(
    dispatcher, domain
):
    # The model classified this `inform` (for "evening"), with the response selector sure it is about hours:
    # it got only the introduction.
    tracker = make_tracker(
        NURSE, intent="inform", requested_slot=None, active_loop=None, parse_data=selector_pick("hours", 0.99)
    )
    assert await ActionReplyBeforeScreening().run(dispatcher, tracker, domain) == []
    assert [m["text"] for m in dispatcher.messages] == [runtime.clinic().faq["hours"]]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text, intent, confidence",
    [
        (NURSE, "inform", 0.5),  # the selector is not sure: no answer rather than a wrong one
        ("I work nights", "inform", 0.99),  # not a question
        ("can I get screened?", "greet", 0.3),
        (NURSE, "affirm", 0.99),  # an answer-like intent is not read as a question
    ],
)
async def test_no_answer_unless_a_question_with_a_sure_topic(dispatcher, domain, text, intent, confidence):
    tracker = make_tracker(
        text, intent=intent, requested_slot=None, active_loop=None, parse_data=selector_pick("hours", confidence)
    )
    await ActionReplyBeforeScreening().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


@pytest.mark.asyncio
async def test_hablan_espanol_read_as_a_request_for_a_person_gets_the_spanish_notice(dispatcher, domain):
    # The model classifies "hablan español?" as talk_to_human: the English "talk to a person" text came back.
    tracker = make_tracker("hablan español?", intent="talk_to_human", requested_slot=None, active_loop=None)
    # no call-back offer in English: the form goes on to the introduction and consent
    assert await ActionTalkToHuman().run(dispatcher, tracker, domain) == [SlotSet("answer", None)]
    [reply] = [m["text"] for m in dispatcher.messages]
    assert "inglés" in reply and runtime.clinic().phone in reply and "AYUDA al 741741" in reply


@pytest.mark.asyncio
async def test_talk_to_a_person_in_english_is_unchanged(dispatcher, domain):
    tracker = make_tracker("can I talk to someone", intent="talk_to_human")
    await ActionTalkToHuman().run(dispatcher, tracker, domain)
    assert [m["text"] for m in dispatcher.messages] == [runtime.message("talk_to_human")]


@pytest.mark.asyncio
async def test_a_clinic_question_in_spanish_gets_the_spanish_notice_not_an_english_answer(dispatcher, domain):
    # "hola, tienen información en español?" was classified as faq/hours and answered with the English hours.
    tracker = make_tracker(SPANISH_FIRST_MESSAGES[0], intent="faq", parse_data=picked("faq/hours"))
    await ActionAnswerClinicQuestion().run(dispatcher, tracker, domain)
    [reply] = [m["text"] for m in dispatcher.messages]
    assert reply != runtime.clinic().faq["hours"] and "inglés" in reply and runtime.clinic().phone in reply


@pytest.mark.asyncio
async def test_the_spravato_question_has_its_own_cited_answer(dispatcher, domain):
    # "what is the difference between spravato and iv ketamine" used to get the infusion_experience text.
    reply = await answer(dispatcher, domain, picked("faq/spravato_vs_iv"))
    assert "Spravato" in reply and reply != runtime.clinic().faq["infusion_experience"]
    assert "SPRAVATO" in runtime.clinic().sources["spravato_vs_iv"].upper()

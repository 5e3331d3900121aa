"""Clinic questions: every one is the `faq` intent, answered with the clinic profile's text for the topic the
response selector picked (`faq/cost` -> faq.cost)."""

from __future__ import annotations

import pytest

from actions import runtime
from actions.interruptions import ActionAnswerClinicQuestion, selected_faq_topic
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

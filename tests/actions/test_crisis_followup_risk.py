"""Issue 8 review follow-ups, through the real actions and a real SQLite outbox: risk inside a reply to an
episode question raises a new signed alert even at the same severity; "No" / "Not sure" to "Are you safe right
now?" is `imminent` for staff; a plan in a check-level message is the full reply at once; the call-back phone
question can be declined and keeps 988 and 911 in view."""

from __future__ import annotations

import pytest

from actions.crisis import reply_risk
from bot.handoff.events import stable_event_id, validate_event
from bot.safety.detector import NO_RISK
from bot.safety.episode import CrisisState
from bot.safety.responses import question_texts
from tests.actions.conftest import make_tracker
from tests.actions.test_crisis_episode import SENDER, Chat, alerts, opened
from tests.actions.test_risk_check import CHECK, SAFE, component_parse, say

MEANS_AT_HAND = "yeah i'm safe for now but the pills are right next to me"
DECIDED = "i'm fine, lets continue. i already decided i'm doing it this weekend"
PHONE_QUESTION = "What phone number should they call?"


@pytest.mark.asyncio
async def test_means_at_hand_after_an_imminent_opening_raises_a_new_alert(domain):
    # Same severity (imminent) and no new category: before, the short reply and no alert.
    chat = await opened(domain, text="i want to kill myself")
    assert alerts()[0]["severity"] == "imminent"
    reply = await chat.say(MEANS_AT_HAND, domain)
    assert "988" in reply and "911" in reply and "glad you are safe" not in reply
    assert chat.messages[-1] == SAFE
    second = alerts()[-1]
    assert len(alerts()) == 2 and second["reason"] == "risk_in_reply" and second["message"] == MEANS_AT_HAND
    assert second["severity"] == "imminent" and second["sequence"] == 2
    assert second["id"] == stable_event_id(SENDER, "crisis", 2) and validate_event(second) == []


@pytest.mark.asyncio
async def test_only_the_very_same_risky_text_again_gets_no_new_alert(domain):
    chat = await opened(domain, text="i want to kill myself")
    await chat.say(MEANS_AT_HAND, domain)
    await chat.say("Yeah I'm safe for now but the pills are  right next to me", domain)
    assert len(alerts()) == 2
    await chat.say("the gun is in front of me", domain)
    assert [a["reason"] for a in alerts()] == ["episode_opened", "risk_in_reply", "risk_in_reply"]
    await chat.say("i want to kill myself", domain)  # the opening again, after other messages: no news
    assert len(alerts()) == 3 and "i want to kill myself" not in str(chat.slots["crisis"])


@pytest.mark.asyncio
@pytest.mark.parametrize("answer,reason", [("No", "not_safe"), ("Not sure", "not_sure")])
async def test_no_or_not_sure_to_are_you_safe_is_imminent_for_staff(domain, answer, reason):
    chat = await opened(domain)  # "i don't see the point of being alive anymore": high
    reply = await chat.say(answer, domain)
    assert "911" in reply
    last = alerts()[-1]
    assert last["reason"] == reason and last["severity"] == "imminent" and last["previous_severity"] == "high"
    assert validate_event(last) == [] and chat.crisis.severity == "imminent"


@pytest.mark.asyncio
async def test_a_decision_in_a_check_level_message_gets_the_full_reply_and_alert(domain):
    assert component_parse(DECIDED, model_flagged=True)["risk"]["level"] == "check"
    chat = Chat()
    reply = await say(chat, DECIDED, domain, model_flagged=True)
    assert CHECK not in chat.messages and "988" in reply and "911" in reply
    assert chat.crisis.open and chat.messages[-1] == SAFE
    [alert] = alerts()
    assert alert["reason"] == "episode_opened" and alert["severity"] == "imminent"
    assert "suicide_plan" in alert["categories"] and alert["message"] == DECIDED


@pytest.mark.asyncio
async def test_a_check_level_message_without_those_words_still_gets_the_check(domain):
    chat = Chat()
    await say(chat, "hey, my therapist said ketamine might help my PTSD. I'm a vet, 41", domain, model_flagged=True)
    assert chat.messages == [CHECK] and alerts() == []


def test_outside_an_episode_the_words_alone_are_no_risk_but_with_the_model_flag_a_plan():
    ordinary = make_tracker("can i come in this weekend? i decided to try it", intent="inform")
    assert reply_risk(ordinary, CrisisState(), NO_RISK) is None
    flagged = make_tracker(DECIDED, intent="crisis")
    risk = reply_risk(flagged, CrisisState(), NO_RISK)
    assert risk is not None and risk.categories == ("suicide_plan",) and risk.severity == "imminent"


async def at_phone_question(domain) -> Chat:
    chat = await opened(domain)
    await chat.say("No", domain)
    await chat.say("Yes, call me", domain)
    assert chat.messages[-1] == PHONE_QUESTION
    return chat


@pytest.mark.asyncio
@pytest.mark.parametrize("withdraw", ["no", "Never mind", "I don't want a call", "no thanks"])
async def test_the_phone_question_can_be_declined(domain, withdraw):
    chat = await at_phone_question(domain)
    before = len(alerts())
    reply = await chat.say(withdraw, domain)
    assert "That's OK" in reply and "988" in reply
    assert chat.crisis.callback == "declined" and chat.crisis.stage == "check_in"  # they said they were not safe
    assert chat.messages[-1].startswith("I'm still here with you")
    assert len(alerts()) == before and not any(a.get("callback_requested") for a in alerts())


@pytest.mark.asyncio
async def test_every_re_ask_of_the_phone_question_keeps_988_and_911(domain):
    chat = await at_phone_question(domain)
    for reply_text in ("not a number", "555"):
        reply = await chat.say(reply_text, domain)
        assert "area code" in reply and "988" in reply and "911" in reply
        assert chat.messages[-1] == PHONE_QUESTION and chat.crisis.callback is None
    for language in ("en", "es"):
        guidance = question_texts(language)["callback_phone_guidance"]
        assert "988" in guidance and "911" in guidance

"""action_delete_my_data: says what is erased and what the clinic keeps; the store erases (rasa_ext/erasure.py)."""

from __future__ import annotations

import pytest

from actions import runtime
from actions.interruptions import ActionDeleteMyData
from bot.conversation import is_answer_attempt
from bot.readability import flesch_kincaid_grade
from bot.safety.episode import CrisisState
from bot.screening.flow import question_by_id
from bot.screening.state import CALLBACK_SENT, ScreeningState
from tests.actions.conftest import make_tracker


async def run(dispatcher, domain, **slots):
    tracker = make_tracker("delete my data", intent="delete_my_data", confidence=0.95, slots=slots)
    events = await ActionDeleteMyData().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    return message["text"], events


@pytest.mark.asyncio
async def test_nothing_sent_yet(dispatcher, domain):
    text, events = await run(dispatcher, domain)
    assert "erasing this chat" in text and "Nothing was sent" in text and "new chat" in text
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events if e["event"] == "active_loop"
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "slots",
    [{"lead_id": "lead-1"}, {"screening": ScreeningState(callback=CALLBACK_SENT).to_slot()}],
)
async def test_what_was_sent_stays_with_the_clinic_and_a_call_removes_it(dispatcher, domain, slots):
    text, _ = await run(dispatcher, domain, **slots)
    assert "Nothing was sent" not in text and "stay with our team" in text and runtime.clinic().phone in text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "crisis",
    [CrisisState(flagged=True, episodes=1), CrisisState(open=True, flagged=True, stage="ask_safe", episodes=1)],
)
async def test_after_or_inside_a_crisis_episode_the_reply_keeps_988_and_911(dispatcher, domain, crisis):
    text, _ = await run(dispatcher, domain, crisis=crisis.to_slot())
    assert "988" in text and "911" in text and "stays" in text and runtime.clinic().phone in text


@pytest.mark.asyncio
async def test_in_spanish_the_crisis_lines_come_in_spanish_too(dispatcher, domain):
    text, _ = await run(dispatcher, domain, crisis=CrisisState(open=True, flagged=True, language="es").to_slot())
    assert "988" in text and "oprime 2" in text


def test_every_erasure_text_is_plain():
    for key in ("erased", "erased_after_sent", "erased_after_alert"):
        assert flesch_kincaid_grade(runtime.message(key)) <= 8.0, key


@pytest.mark.parametrize("confidence, interrupts", [(0.95, True), (1.0, True), (0.6, False)])
def test_at_a_question_only_a_sure_delete_interrupts(confidence, interrupts):
    question = question_by_id("age")
    assert is_answer_attempt(question, False, "delete_my_data", confidence, "delete my data") is not interrupts

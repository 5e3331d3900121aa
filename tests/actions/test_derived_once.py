"""One derivation of the screening's state per state an action reads (bot.screening.flow.screening_progress).

The calls are counted by code object, so an import under another name or a new call site is counted too.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

import pytest

from actions.finish import ActionFinishScreening
from actions.screening_form import ActionAskAnswer, ValidateScreeningForm
from bot.screening import outcome, stored
from bot.screening.state import ScreeningState
from tests.actions.conftest import make_tracker
from tests.bot.screening.shipped_order import CI as HEALTH

_COUNTED = {outcome.decide_outcome.__code__: "decide_outcome", stored.valid_answers.__code__: "valid_answers"}


@contextmanager
def counting_calls() -> Iterator[Counter]:
    calls: Counter = Counter()
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in _COUNTED:
            calls[_COUNTED[frame.f_code]] += 1

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def slot(events, name):
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


ONCE = {"decide_outcome": 1, "valid_answers": 1}
UP_TO_HEALTH = {
    "consent": "yes",
    "concern": "depression",
    "age": 40,
    **{f"gad7_{i}": "not_at_all" for i in range(1, 8)},
    **{f"phq9_{i}": "not_at_all" for i in range(1, 10)},
    "tx_antidepressants": "1",
    "tx_therapy": "yes",
    "tx_current_meds": "none",
}
CONTACT = {
    "contact_first_name": "Ana",
    "contact_phone": "+18185550134",
    "contact_email": None,
    "contact_method": "call",
    "contact_best_time": "morning",
    "contact_consent": "yes",
}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answered, reply, asked_next",
    [
        ({"consent": "yes", "concern": "depression", "age": 40}, "Not at all", "gad7_2"),
        # the last health question: the outcome decides what comes next and is told before it
        ({**UP_TO_HEALTH, **dict.fromkeys(HEALTH[:-1], "no")}, "No", "contact_first_name"),
    ],
    ids=["an instrument item", "the last health question"],
)
async def test_validating_one_answer_and_asking_the_next_derives_each_state_once(
    dispatcher, domain, answered, reply, asked_next
):
    screening = ScreeningState(answers=answered).to_slot()
    with counting_calls() as calls:
        events = await ValidateScreeningForm().run(
            dispatcher, make_tracker(reply, slots={"screening": screening}), domain
        )
    # Once for the answers it was given (which question was answered), once for the answers it recorded
    # (whether the form goes on); rasa-sdk asks for the step five times in between.
    assert calls == {"decide_outcome": 2, "valid_answers": 2}
    recorded = slot(events, "screening")
    with counting_calls() as calls:
        asked = await ActionAskAnswer().run(dispatcher, make_tracker("", slots={"screening": recorded}), domain)
    assert calls == ONCE
    assert slot(asked, "last_asked") == asked_next


@pytest.mark.asyncio
async def test_a_reply_left_to_the_rules_derives_the_state_once(dispatcher, domain):
    screening = ScreeningState(answers={"consent": "yes"}).to_slot()
    tracker = make_tracker("stop please", intent="stop", slots={"screening": screening})
    with counting_calls() as calls:
        events = await ValidateScreeningForm().run(dispatcher, tracker, domain)
    assert calls == ONCE
    assert not [e for e in events if e.get("name") == "screening"]


@pytest.mark.asyncio
async def test_finishing_derives_the_state_once_for_the_status_and_the_lead(dispatcher, domain):
    # The last health question is the checklist: its "None of these" is stored as ["none"].
    answers = {**UP_TO_HEALTH, **dict.fromkeys(HEALTH[:-1], "no"), HEALTH[-1]: ["none"], **CONTACT}
    screening = ScreeningState(answers=answers).to_slot()
    with counting_calls() as calls:
        events = await ActionFinishScreening().run(dispatcher, make_tracker("", slots={"screening": screening}), domain)
    assert calls == ONCE
    assert slot(events, "lead_id")

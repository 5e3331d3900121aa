"""A crisis episode through the real actions and a real SQLite outbox: every reply assessed first, escalation
on "No" / "Not sure", a new alert on every rise, the C-SSRS, a call back, true words about staff hours."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.crisis import ActionCrisisResponse
from actions.interruptions import ActionAnswerClinicQuestion, ActionStop
from actions.screening_form import ActionAskAnswer, ValidateScreeningForm
from bot.channels import sms
from bot.handoff.events import stable_event_id, validate_event
from bot.readability import flesch_kincaid_grade
from bot.safety.episode import CrisisState
from bot.screening.state import ScreeningState
from tests.actions.conftest import make_tracker
from tests.handoff_fixtures import stored_events as read_stored_events

OPEN = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)  # Tuesday 10 am in Los Angeles
CLOSED = datetime(2026, 12, 5, 22, 0, tzinfo=timezone.utc)  # Saturday 2 pm: next open Monday 9 am
SENDER = "episode-1"


@pytest.fixture(autouse=True)
def clinic_open(monkeypatch):
    monkeypatch.setattr("actions.staff_hours.current_time", lambda: OPEN)


def alerts() -> List[Dict[str, Any]]:
    runtime.outbox()
    events = [e for e in read_stored_events(runtime.settings().database_url) if e["type"] == "crisis.alert"]
    return sorted(events, key=lambda e: e.get("sequence", 1))


class Chat:
    """One visitor's slots, carried from turn to turn the way Rasa would."""

    def __init__(self, screening: Optional[dict] = None, channel: str = "rest", metadata: Optional[dict] = None):
        self.slots: Dict[str, Any] = {"screening": screening, "crisis": None, "last_asked": None}
        self.channel, self.metadata = channel, metadata or {}
        self.messages: List[str] = []

    def _tracker(self, text: str, intent: str, parse_data: Optional[dict] = None):
        return make_tracker(
            text,
            intent=intent,
            slots=dict(self.slots),
            sender=SENDER,
            channel=self.channel,
            metadata=self.metadata,
            parse_data=parse_data,
        )

    async def _run(self, action, text: str, intent: str, domain, parse_data: Optional[dict] = None) -> List[str]:
        dispatcher = CollectingDispatcher()
        for event in await action.run(dispatcher, self._tracker(text, intent, parse_data), domain):
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        return [m["text"] for m in dispatcher.messages]

    async def say(
        self, text: str, domain, intent: str = "inform", action=None, parse_data: Optional[dict] = None
    ) -> str:
        """The visitor's message (with what else the NLU pipeline attached, `parse_data`), then the question the
        form asks next. Returns the whole reply."""
        said = await self._run(action or ValidateScreeningForm(), text, intent, domain, parse_data)
        said += await self._run(ActionAskAnswer(), "", "inform", domain)
        self.messages = said
        return " ".join(said)

    @property
    def crisis(self) -> CrisisState:
        return CrisisState.from_slot(self.slots["crisis"])


async def opened(domain, text="i don't see the point of being alive anymore", **kwargs) -> Chat:
    chat = Chat(**kwargs)
    reply = await chat.say(text, domain, intent="crisis", action=ActionCrisisResponse())
    assert "988" in reply and chat.messages[-1] == "Are you safe right now?"
    assert len(alerts()) == 1
    return chat


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    [
        "yeah i'm safe for now but the pills are right next to me",
        "i'm fine, lets continue. i already decided i'm doing it this weekend",
    ],
)
async def test_risk_in_an_answer_overrides_it(domain, text):
    # Issue 8: these parse as "yes" / "keep going" but carry a plan or means. Intent "inform": the episode's
    # own words catch them even when the model does not.
    chat = await opened(domain)
    reply = await chat.say(text, domain)
    assert "glad you are safe" not in reply and "keep going" not in reply.lower()
    assert "988" in reply and "911" in reply
    assert chat.crisis.open and chat.messages[-1] == "Are you safe right now?"
    second = alerts()[-1]
    assert len(alerts()) == 2 and second["severity"] == "imminent" and second["reason"] == "severity_rose"
    assert second["previous_severity"] == "high" and second["sequence"] == 2
    assert second["id"] == stable_event_id(SENDER, "crisis", 2) and second["conversation_id"] == SENDER
    assert second["message"] == text and validate_event(second) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("answer,reason", [("No", "not_safe"), ("Not sure", "not_sure")])
async def test_no_or_not_sure_is_an_escalation(domain, answer, reason):
    chat = await opened(domain)
    reply = await chat.say(answer, domain)
    assert "911" in reply and "988" in reply
    assert "keep going" not in reply.lower() and "questions" not in reply.lower()
    assert chat.crisis.stage == "ask_callback"  # stay with them: a call back is offered
    assert [a.get("reason") for a in alerts()] == ["episode_opened", reason]
    # No thanks to the call: a check-in, still not "keep going?"; the questions resume only when asked.
    reply = await chat.say("No thanks", domain)
    assert chat.crisis.stage == "check_in" and "keep going" not in reply.lower()
    await chat.say("i'm a bit calmer", domain)
    assert chat.messages[-1] == "Are you safe right now?"


@pytest.mark.asyncio
async def test_a_plan_mentioned_later_raises_a_new_alert(domain):
    chat = await opened(domain)
    reply = await chat.say("i have a plan to end it tonight", domain, intent="crisis", action=ActionCrisisResponse())
    assert "911" in reply
    assert [a["severity"] for a in alerts()] == ["high", "imminent"]
    # More of the same raises nothing new.
    await chat.say("i have a plan to end it tonight", domain, intent="crisis", action=ActionCrisisResponse())
    assert len(alerts()) == 2


def item9_screening() -> dict:
    answers = {"consent": "yes", "concern": "depression", "age": 40}
    answers.update({f"gad7_{i}": "not_at_all" for i in range(1, 8)})
    answers.update({f"phq9_{i}": "several_days" for i in range(1, 9)})
    return ScreeningState(answers=answers).to_slot()


@pytest.mark.asyncio
@pytest.mark.parametrize("vague", ["rarely", "not really", "idk", "sometimes", "1"])
async def test_a_vague_item9_counts_as_positive_and_records_no_score(domain, vague):
    chat = Chat(screening=item9_screening())
    reply = await chat.say(vague, domain)
    assert "988" in reply and chat.crisis.flagged and "phq9_item9" in chat.crisis.categories
    recorded = ScreeningState.from_slot(chat.slots["screening"]).answers.get("phq9_9")
    # Never a guessed 0. ("sometimes" is read as "Several days" by the screening's own answer words.)
    # "1" on the web, where the options were shown without numbers, is not a clear "Not at all".
    assert recorded is None if vague != "sometimes" else recorded == "several_days"
    assert len(alerts()) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "clear, channel", [("Not at all", "rest"), ("not at all", "rest"), ("never", "rest"), ("1", sms.CHANNEL_NAME)]
)
async def test_a_clear_not_at_all_at_item9_is_recorded_and_raises_nothing(domain, clear, channel):
    # "1" is "Not at all"'s number in the list SMS shows; on the web no numbers were shown (next test).
    chat = Chat(screening=item9_screening(), channel=channel)
    reply = await chat.say(clear, domain)
    assert "988" not in reply and not chat.crisis.flagged and alerts() == []
    assert ScreeningState.from_slot(chat.slots["screening"]).answers["phq9_9"] == "not_at_all"


@pytest.mark.asyncio
async def test_item9_leads_to_the_cssrs_and_yes_to_q4_is_urgent(domain):
    chat = Chat(screening=item9_screening())
    await chat.say("Several days", domain)
    reply = await chat.say("Yes", domain)  # safe right now
    assert "glad" in reply and "In the past month:" in chat.messages
    assert chat.messages[-1].startswith("Have you wished you were dead")
    for answer in ("Yes", "Yes", "No"):  # Q1, Q2, Q3
        await chat.say(answer, domain)
    assert chat.messages[-1] == "Have you had these thoughts and had some intention of acting on them?"
    reply = await chat.say("Yes", domain)  # Q4
    assert "911" in reply and "988" in reply and "keep going" not in reply.lower()
    last = alerts()[-1]
    assert (last["reason"], last["severity"], last["cssrs"]["result"]) == ("cssrs_high", "imminent", "high")
    assert last["cssrs"]["answers"] == {"q1": "yes", "q2": "yes", "q3": "no", "q4": "yes"}
    assert chat.crisis.cssrs_result["result"] == "high"
    assert chat.crisis.lead_flag()["cssrs"]["result"] == "high" and chat.crisis.lead_flag()["flagged"]


@pytest.mark.asyncio
async def test_a_low_cssrs_result_never_lowers_the_severity(domain):
    chat = await opened(domain, text="i want to kill myself")  # imminent
    await chat.say("Yes", domain)
    for answer in ("Yes", "No", "No"):  # Q1, Q2 (No: skip to Q6), Q6
        await chat.say(answer, domain)
    last = alerts()[-1]
    assert (last["reason"], last["cssrs"]["result"], last["severity"]) == ("cssrs_positive", "low", "imminent")
    assert chat.crisis.flagged and chat.crisis.severity == "imminent"


@pytest.mark.asyncio
async def test_a_web_visitor_leaves_a_call_back_number(domain):
    chat = await opened(domain)
    await chat.say("No", domain)
    assert chat.messages[-1].startswith("Would you like someone from our team to call you?")
    await chat.say("Yes, call me", domain)
    assert chat.messages[-1] == "What phone number should they call?"
    reply = await chat.say("not a number", domain)
    assert "area code" in reply  # re-asked with guidance
    reply = await chat.say("(818) 555-0111", domain)
    assert "sent your number" in reply
    last = alerts()[-1]
    assert last["contact"]["phone"] == "+18185550111" and last["callback_requested"] is True
    assert last["reason"] == "callback_requested" and validate_event(last) == []
    assert chat.crisis.callback == "sent" and chat.crisis.stage == "check_in"


@pytest.mark.asyncio
async def test_on_sms_the_call_back_confirms_the_number_that_texted(domain):
    chat = await opened(domain, channel="sms", metadata={"phone": "+18185550199"})
    await chat.say("No", domain)
    await chat.say("Yes, call me", domain)
    assert chat.messages[-1] == "Should they call you at (818) 555-0199?"
    await chat.say("Yes", domain)
    assert alerts()[-1]["contact"]["phone"] == "+18185550199" and alerts()[-1]["callback_requested"] is True


@pytest.mark.asyncio
async def test_outside_hours_nobody_is_said_to_be_watching(domain, monkeypatch):
    monkeypatch.setattr("actions.staff_hours.current_time", lambda: CLOSED)
    chat = Chat()
    reply = await chat.say("i want to kill myself", domain, intent="crisis", action=ActionCrisisResponse())
    assert "let our clinic team know" not in reply and "knows" not in reply
    assert "when we open Monday at 9 am" in reply and "988 is there for you right now" in reply
    reply = await chat.say("i still want to kill myself", domain, intent="crisis", action=ActionCrisisResponse())
    assert "Monday at 9 am" in reply and "knows" not in reply  # the repeat text
    await chat.say("No", domain)
    reply = await chat.say("Yes, call me", domain)
    reply = await chat.say("818 555 0111", domain)
    assert "call after we open Monday at 9 am" in reply
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("stop", intent="stop", slots=dict(chat.slots), sender=SENDER)
    await ActionStop().run(dispatcher, tracker, domain)
    stopped = dispatcher.messages[0]["text"]
    assert "Monday at 9 am" in stopped and "already has a note" not in stopped and "988" in stopped


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text,intent", [("I'm not suicidal, I just have PTSD", "crisis"), ("that's not what I meant", "deny")]
)
async def test_a_misunderstanding_gets_an_answer_not_the_script(domain, text, intent):
    chat = await opened(domain)
    action = ActionCrisisResponse() if intent == "crisis" else None
    reply = await chat.say(text, domain, intent=intent, action=action)
    assert "sorry if I got that wrong" in reply and "988" in reply
    assert "741741" not in reply  # not the crisis script again
    last = alerts()[-1]
    assert last["reason"] == "visitor_says_misunderstanding" and last["severity"] == "high"
    assert chat.crisis.flagged and chat.crisis.severity == "high"


@pytest.mark.asyncio
async def test_a_clinic_question_in_an_episode_is_answered_with_988_in_view(domain):
    chat = await opened(domain)
    dispatcher = CollectingDispatcher()
    parse = {"response_selector": {"faq": {"response": {"intent_response_key": "faq/cost"}}}}
    tracker = make_tracker("how much does it cost?", intent="faq", slots=dict(chat.slots), parse_data=parse)
    await ActionAnswerClinicQuestion().run(dispatcher, tracker, domain)
    answer = dispatcher.messages[0]["text"]
    assert "$250" in answer and "988" in answer
    # The same question when only the model flagged it as crisis: the answer, not the script, no alert.
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("how much does it cost?", intent="crisis", slots=dict(chat.slots), parse_data=parse)
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert "$250" in dispatcher.messages[0]["text"] and "741741" not in dispatcher.messages[0]["text"]
    assert len(alerts()) == 1


@pytest.mark.asyncio
async def test_every_episode_message_we_word_reads_at_grade_8(domain):
    chat = await opened(domain)
    texts = list(chat.messages)
    for answer in ("No", "Yes, call me", "818 555 0111", "ok"):
        await chat.say(answer, domain)
        texts += chat.messages
    for text in texts:
        assert flesch_kincaid_grade(text) <= 8.0, text


@pytest.mark.asyncio
async def test_an_ending_after_an_alert_points_to_988_and_the_call_back_never_to_not_contacting(domain):
    from actions.finish import ActionFinishScreening
    from tests.actions.test_crisis_and_finish import complete_answers

    flagged = CrisisState(flagged=True, categories=("suicidal_thoughts",), severity="high", episodes=1).to_slot()
    screening = ScreeningState(answers=complete_answers(contact_consent="no")).to_slot()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("", slots={"screening": screening, "crisis": flagged}, requested_slot=None, active_loop=None)
    await ActionFinishScreening().run(dispatcher, tracker, domain)
    ending = dispatcher.messages[-1]["text"]
    assert "988" in ending and "talk to a person" in ending
    assert "won't contact you" not in ending and "right fit" not in ending


def test_the_lead_carries_the_cssrs_result():
    from bot.screening.lead import build_lead
    from tests.actions.test_crisis_and_finish import complete_answers

    summary = {
        "result": "low",
        "severity": "moderate",
        "complete": True,
        "answers": {"q1": "yes", "q2": "no", "q6": "no"},
    }
    crisis = CrisisState(flagged=True, categories=("phq9_item9",), severity="high", cssrs_result=summary)
    lead = build_lead(complete_answers(), crisis=crisis.lead_flag())
    assert lead["crisis"] == {"flagged": True, "categories": ["phq9_item9"], "cssrs": summary}
    assert (
        validate_event(
            {
                "type": "lead.created",
                "id": stable_event_id("x", "lead", 1),
                "schema_version": 1,
                "conversation_id": "x",
                "channel": "rest",
                "created_at": "2026-12-01T00:00:00Z",
                "lead": lead,
            }
        )
        == []
    )

"""Crisis response and the end of a screening, with rasa-sdk trackers and a real SQLite outbox."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions import state as state_module
from actions.crisis import ActionCrisisResponse
from actions.finish import ActionFinishScreening
from actions.interruptions import ActionAnswerClinicQuestion, ActionStartOver, ActionStop
from actions.screening_form import answer_crisis_question
from bot.handoff.events import validate_event
from bot.safety import responses
from bot.safety.detector import RiskAssessment
from bot.safety.episode import CrisisState, followup_question, open_episode
from bot.screening.answers import parse_answer
from bot.screening.state import ScreeningState
from tests.actions.conftest import make_tracker
from tests.handoff_fixtures import stored_events as read_stored_events


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def stored_events():
    """What the action server's outbox holds, read without claiming (a claim would lease the rows)."""
    runtime.outbox()  # the outbox the actions write to (opening it creates its tables)
    return read_stored_events(runtime.settings().database_url)


@pytest.mark.asyncio
async def test_crisis_reply_has_988_and_alerts_staff_once_per_episode(dispatcher, domain):
    tracker = make_tracker("i want to kill myself", intent="crisis", confidence=1.0, sender="crisis-1")
    slots = slot_events(await ActionCrisisResponse().run(dispatcher, tracker, domain))
    reply = dispatcher.messages[0]["text"]
    assert "988" in reply and "911" in reply and "741741" in reply
    assert "\n\n" not in reply
    state = CrisisState.from_slot(slots["crisis"])
    assert state.open and state.flagged and "suicidal_thoughts" in state.categories
    # The very same message again in the same episode: a reply again, but no second alert (any other risky
    # reply alerts: tests/actions/test_crisis_episode.py).
    dispatcher.messages.clear()
    tracker = make_tracker(
        "I want to kill  myself", intent="crisis", slots={"crisis": slots["crisis"]}, sender="crisis-1"
    )
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
    # The SMS channel files the conversation under a keyed hash and passes the number in the metadata.
    tracker = make_tracker(
        "I took too many pills", intent="crisis", sender="sms:0f3a", channel="sms", metadata={"phone": "+18185550134"}
    )
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert stored_events()[0]["contact"]["phone"] == "+18185550134"


@pytest.mark.asyncio
async def test_a_phone_in_rest_metadata_is_not_taken_as_the_senders_number(dispatcher, domain):
    # REST clients choose their own metadata: only the SMS channel's word counts.
    tracker = make_tracker("I took too many pills", intent="crisis", channel="rest", metadata={"phone": "+18185550134"})
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert "phone" not in stored_events()[0]["contact"]


# What the NLU component attaches to the parse data (rasa_ext/risk_component.py, bot/safety/parse_data.py).
OVERDOSE_IN_SPANISH = {
    "escalate": True,
    "detector": True,
    "model": False,
    "model_confidence": 0.0,
    "categories": ["overdose"],
    "severity": "imminent",
    "language": "es",
}


def with_risk(tracker, risk):
    tracker.latest_message["risk"] = risk
    return tracker


@pytest.fixture
def detector_must_not_run(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("the detector ran again although the parse data had its assessment")

    monkeypatch.setattr("actions.state.assess_risk", fail)
    monkeypatch.setattr("bot.safety.detector.assess_risk", fail)


@pytest.fixture
def detector_calls(monkeypatch):
    calls = []
    real = state_module.assess_risk
    monkeypatch.setattr("actions.state.assess_risk", lambda text: calls.append(text) or real(text))
    return calls


@pytest.mark.asyncio
async def test_crisis_action_uses_the_assessment_in_the_parse_data(dispatcher, domain, detector_must_not_run):
    # "help" alone matches nothing in the lexicon: what escalates here is what the component found.
    tracker = with_risk(make_tracker("help", intent="crisis", confidence=1.0), OVERDOSE_IN_SPANISH)
    slots = slot_events(await ActionCrisisResponse().run(dispatcher, tracker, domain))
    state = CrisisState.from_slot(slots["crisis"])
    assert (state.categories, state.severity, state.language) == (("overdose",), "imminent", "es")
    reply = dispatcher.messages[0]["text"]
    assert "1-800-222-1222" in reply and "oprime 2" in reply
    assert stored_events()[0]["severity"] == "imminent"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "risk",
    [
        "missing",
        None,
        {"detector": "yes"},
        # Malformed "no risk" (a category without a severity): the detector runs, and it finds the risk.
        {
            "escalate": True,
            "detector": False,
            "model": True,
            "model_confidence": 0.9,
            "categories": ["suicidal_thoughts"],
            "severity": None,
            "language": "en",
        },
    ],
)
async def test_crisis_action_runs_the_detector_without_a_usable_assessment(dispatcher, domain, detector_calls, risk):
    tracker = make_tracker("i want to kill myself", intent="crisis", confidence=1.0)
    if risk != "missing":
        with_risk(tracker, risk)
    slots = slot_events(await ActionCrisisResponse().run(dispatcher, tracker, domain))
    assert detector_calls == ["i want to kill myself"]
    assert "suicidal_thoughts" in CrisisState.from_slot(slots["crisis"]).categories
    assert "988" in dispatcher.messages[0]["text"]


def crisis_follow_up(text, tracker):
    crisis, _ = open_episode(CrisisState(), RiskAssessment(True, ("suicidal_thoughts",), "high", "en"))
    question = followup_question(crisis)
    return answer_crisis_question(
        CollectingDispatcher(), tracker, question, parse_answer(question, text), crisis, ScreeningState()
    )


def test_the_crisis_follow_up_reads_the_reply_risk_from_the_parse_data(detector_must_not_run):
    crisis, _ = crisis_follow_up("No", with_risk(make_tracker("No"), OVERDOSE_IN_SPANISH))
    assert crisis.severity == "imminent" and "overdose" in crisis.categories


def test_the_crisis_follow_up_runs_the_detector_without_an_assessment(detector_calls):
    crisis, _ = crisis_follow_up("No, I took too many pills", make_tracker("No, I took too many pills"))
    assert detector_calls == ["No, I took too many pills"]
    assert crisis.severity == "imminent" and "overdose" in crisis.categories


@pytest.fixture
def crisis_reply_fails(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug while composing the reply")

    monkeypatch.setattr("actions.crisis.crisis_reply", broken)


@pytest.mark.asyncio
async def test_if_composing_fails_the_fallback_from_the_data_is_sent(dispatcher, domain, crisis_reply_fails):
    texts = yaml.safe_load(responses.DEFAULT_RESPONSES_PATH.read_text(encoding="utf-8"))
    tracker = make_tracker("i want to kill myself", intent="crisis", confidence=1.0)
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == " ".join(texts["en"]["fallback"].split())
    dispatcher.messages.clear()
    await ActionCrisisResponse().run(
        dispatcher, with_risk(make_tracker("help", sender="es-1"), OVERDOSE_IN_SPANISH), domain
    )
    assert dispatcher.messages[0]["text"] == " ".join(texts["es"]["fallback"].split())
    assert len(stored_events()) == 2  # staff are alerted all the same


@pytest.mark.asyncio
async def test_if_the_crisis_data_cannot_be_read_the_last_resort_reply_is_sent(
    dispatcher, domain, crisis_reply_fails, monkeypatch, tmp_path
):
    monkeypatch.setattr(responses, "DEFAULT_RESPONSES_PATH", tmp_path / "missing.yml")
    responses._default_responses.cache_clear()
    try:
        tracker = make_tracker("i want to kill myself", intent="crisis", confidence=1.0)
        await ActionCrisisResponse().run(dispatcher, tracker, domain)
    finally:
        responses._default_responses.cache_clear()
    reply = dispatcher.messages[0]["text"]
    assert reply == responses.LAST_RESORT_CRISIS_REPLY
    assert "988" in reply and "911" in reply
    assert stored_events()[0]["type"] == "crisis.alert"


def complete_answers(**overrides):
    answers = {"consent": "yes", "concern": "anxiety", "age": 34}
    answers.update({f"gad7_{i}": "nearly_every_day" for i in range(1, 8)})
    answers.update({f"phq9_{i}": "more_than_half" for i in range(1, 9)})
    answers["phq9_9"] = "not_at_all"
    answers.update({"tx_antidepressants": "2_or_more", "tx_therapy": "yes", "tx_current_meds": "none"})
    for item in (
        "pregnancy",
        "psychosis",
        "mania",
        "hypertension",
        "heart_recent",
        "heart_unstable",
        "aneurysm",
        "ketamine_reaction",
    ):
        answers[f"ci_{item}"] = "no"
    answers["ci_checklist"] = ["none"]  # the review-only items, one question
    answers.update(
        {
            "contact_first_name": "Maria",
            "contact_phone": "+18185550134",
            "contact_email": "maria@example.com",
            "contact_method": "text",
            "contact_best_time": "morning",
            "contact_consent": "yes",
        }
    )
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
    tracker = make_tracker(
        "",
        slots={"screening": slots["screening"], "lead_id": slots["lead_id"]},
        requested_slot=None,
        active_loop=None,
        sender="lead-1",
    )
    await ActionFinishScreening().run(dispatcher, tracker, domain)
    assert dispatcher.messages and stored_events() == events  # still the one lead: nothing new stored


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
    selected = {"response_selector": {"faq": {"response": {"intent_response_key": "faq/cost"}}}}
    tracker = make_tracker("how much is it", intent="faq", parse_data=selected)
    await ActionAnswerClinicQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == runtime.clinic().faq["cost"]


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


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "slots, says",
    [
        ({}, "were not sent"),
        ({"crisis": {"flagged": True, "open": False, "categories": ["suicidal_thoughts"]}}, "988"),
        ({"screening": {"answers": {"consent": "yes"}, "callback": "sent"}}, "call-back request was sent"),
    ],
    ids=["nothing sent", "after a crisis alert", "after a call-back request"],
)
async def test_stop_never_says_nothing_was_sent_after_an_alert_or_a_call_back_went_out(dispatcher, domain, slots, says):
    await ActionStop().run(dispatcher, make_tracker("stop", intent="stop", slots=slots), domain)
    text = dispatcher.messages[-1]["text"]
    assert says in text
    if slots:
        assert "not sent" not in text

"""The check question (issue 8, "False alarms cost trust"): a message only the trained model flagged (risk level
`check`, written by rasa_ext/risk_component.py) is asked about first, with 988 and 911 in view and no staff
alert; anything but a clear No in the reply escalates fully, a clear No resumes the screening. Through the real
actions and a real SQLite outbox, with parse data carrying `risk` as the component writes it."""

from __future__ import annotations

import pytest

from actions.crisis import ActionCrisisResponse
from bot.channels import sms
from bot.handoff.events import validate_event
from bot.readability import flesch_kincaid_grade
from bot.safety.detector import NO_RISK, assess_risk
from bot.safety.episode import CrisisState
from bot.safety.parse_data import risk_parse_data
from bot.safety.responses import episode_text, question_texts
from bot.safety.signals import combine_signals
from bot.screening.lead import build_lead
from bot.screening.state import ScreeningState
from tests.actions.test_crisis_and_finish import complete_answers
from tests.actions.test_crisis_episode import Chat, alerts

CHECK = question_texts("en")["risk_check"]
SAFE = "Are you safe right now?"
VET = "hey, my therapist said ketamine might help my PTSD. I'm a vet, 41"


def component_parse(text: str, model_flagged: bool) -> dict:
    """The `risk` parse data as rasa_ext/risk_component.py writes it for `text`: the real detector, and the
    model's flag as given (the model itself is not loaded here)."""
    assessment = assess_risk(text)
    ranking = [{"name": "crisis" if model_flagged else "inform", "confidence": 1.0}]
    signal = combine_signals(assessment.is_risk, ranking[0]["name"], ranking)
    return {"risk": risk_parse_data(assessment, signal)}


async def say(chat: Chat, text: str, domain, *, model_flagged: bool = False) -> str:
    """One message routed as Rasa would: a flagged one (crisis intent) to the crisis action, else the form."""
    parse = component_parse(text, model_flagged)
    if parse["risk"]["escalate"]:
        return await chat.say(text, domain, intent="crisis", action=ActionCrisisResponse(), parse_data=parse)
    return await chat.say(text, domain, parse_data=parse)


async def checked(domain, text: str = VET, **kwargs) -> Chat:
    chat = Chat(**kwargs)
    reply = await say(chat, text, domain, model_flagged=True)
    assert chat.messages == [CHECK], reply
    return chat


def test_the_vets_message_is_check_level_as_the_component_writes_it():
    parse = component_parse(VET, model_flagged=True)
    assert (parse["risk"]["level"], parse["risk"]["detector"]) == ("check", False)


@pytest.mark.asyncio
async def test_a_model_only_first_message_gets_the_check_and_no_alert(domain):
    chat = await checked(domain)
    assert "988" in CHECK and "911" in CHECK and "741741" not in CHECK
    assert alerts() == []
    assert not chat.crisis.flagged and not chat.crisis.open and chat.crisis.check_pending
    assert chat.crisis.check_message == VET


@pytest.mark.asyncio
@pytest.mark.parametrize("no", ["No", "nope", "no I'm not", "No, just anxious."])
async def test_a_clear_no_resumes_with_the_introduction_and_consent(domain, no):
    chat = await checked(domain)
    reply = await say(chat, no, domain)
    assert chat.messages[0] == episode_text("risk_denied") and "988" in chat.messages[0]
    assert "741741" not in reply and SAFE not in reply
    assert chat.slots["last_asked"] == "consent"  # the first question, its introduction before it
    assert len(chat.messages) > 2
    assert alerts() == []
    assert not chat.crisis.flagged and not chat.crisis.check_pending and chat.crisis.checks_denied == 1


@pytest.mark.asyncio
async def test_a_clear_no_mid_screening_asks_the_same_question_again(domain):
    screening = ScreeningState(answers={"consent": "yes", "age": 41}).to_slot()
    chat = Chat(screening=screening, metadata={})
    chat.slots["last_asked"] = "concern"
    await say(chat, "therapy isn't enough", domain, model_flagged=True)
    assert chat.messages == [CHECK]
    await say(chat, "no", domain)
    assert chat.slots["last_asked"] == "concern" and alerts() == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "reply",
    ["Yes", "Not sure", "idk", "no one cares", "no, not really", "how much does it cost?", "stop", "ok", "..."],
)
async def test_anything_but_a_clear_no_escalates_with_both_texts_in_the_alert(domain, reply):
    chat = await checked(domain)
    text = await say(chat, reply, domain)
    assert "988" in text and "741741" in text and "911" in text  # the full crisis reply
    assert chat.messages[-1] == SAFE
    assert chat.crisis.flagged and chat.crisis.open and not chat.crisis.check_pending
    [alert] = alerts()
    assert alert["reason"] == "check_confirmed" and validate_event(alert) == []
    assert VET in alert["message"] and reply in alert["message"]
    assert chat.crisis.check_message is None


@pytest.mark.asyncio
async def test_risk_in_the_reply_is_assessed_first(domain):
    # Parses as starting with "no", but the detector finds a plan: never read as a No.
    chat = await checked(domain)
    reply = "no. i want to kill myself"
    await say(chat, reply, domain)
    [alert] = alerts()
    assert alert["reason"] == "check_confirmed" and alert["severity"] == "imminent"
    assert "suicide_plan" in alert["categories"] and reply in alert["message"]


@pytest.mark.asyncio
async def test_a_reply_only_the_model_flags_escalates_too(domain):
    # The reply comes through the crisis rule (flagged at check level itself): the check is not asked twice.
    chat = await checked(domain)
    await say(chat, "no", domain, model_flagged=True)
    assert chat.messages[-1] == SAFE
    assert [a["reason"] for a in alerts()] == ["check_confirmed"]


@pytest.mark.asyncio
async def test_an_episode_reply_word_in_the_reply_escalates(domain):
    chat = await checked(domain)
    await say(chat, "no, but the pills are right next to me", domain)
    assert alerts()[0]["severity"] == "imminent" and chat.messages[-1] == SAFE


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", ["/deny", '/inform{"answer": "no"}', "/affirm"])
async def test_a_typed_payload_never_answers_the_check(domain, payload):
    chat = await checked(domain)
    reply = await say(chat, payload, domain)
    assert chat.messages[-1] == CHECK and "Yes, No or Not sure" in reply
    assert chat.crisis.check_pending and alerts() == [] and chat.crisis.checks_denied == 0


@pytest.mark.asyncio
async def test_on_sms_the_number_of_no_is_a_clear_no(domain):
    chat = await checked(domain, channel=sms.CHANNEL_NAME, metadata={"phone": "+18185550199"})
    await say(chat, "2", domain)  # SMS lists the buttons numbered: 1 Yes, 2 No, 3 Not sure
    assert chat.messages[0] == episode_text("risk_denied") and alerts() == []


@pytest.mark.asyncio
async def test_the_detector_level_still_gets_the_full_reply_at_once(domain):
    chat = Chat()
    text = await say(chat, "i want to kill myself", domain, model_flagged=True)
    assert "741741" in text and chat.messages[-1] == SAFE
    assert [a["reason"] for a in alerts()] == ["episode_opened"]


@pytest.mark.asyncio
async def test_a_conversation_flagged_before_gets_the_full_reply(domain):
    # An earlier episode ended ("keep going"): a later model-only message is not asked about, it escalates.
    earlier = CrisisState(flagged=True, categories=("suicidal_thoughts",), severity="high", episodes=1, alerts=1)
    chat = Chat()
    chat.slots["crisis"] = earlier.to_slot()
    text = await say(chat, "therapy isn't enough", domain, model_flagged=True)
    assert "988" in text and chat.messages[-1] == SAFE and CHECK not in text
    assert len(alerts()) == 1


@pytest.mark.asyncio
async def test_a_second_check_after_a_no_is_asked_again_and_counted(domain):
    chat = await checked(domain)
    await say(chat, "no", domain)
    await say(chat, "therapy isn't enough", domain, model_flagged=True)
    assert chat.messages == [CHECK]
    await say(chat, "nope", domain)
    assert chat.crisis.checks_denied == 2 and alerts() == []


@pytest.mark.asyncio
async def test_without_a_usable_level_a_model_flag_is_the_full_reply(domain):
    # Fail safe: parse data not exactly as the component writes it (here: no `risk` at all) reads as crisis.
    chat = Chat()
    text = await chat.say(VET, domain, intent="crisis", action=ActionCrisisResponse())
    assert "741741" in text and len(alerts()) == 1


@pytest.mark.asyncio
async def test_the_lead_records_a_denied_check_without_changing_the_outcome(domain):
    chat = await checked(domain)
    await say(chat, "no", domain)
    flag = chat.crisis.lead_flag()
    assert flag == {"flagged": False, "categories": [], "checks_denied": 1}
    lead = build_lead(complete_answers(), crisis=flag)
    plain = build_lead(complete_answers(), crisis=CrisisState().lead_flag())
    assert lead["crisis"]["checks_denied"] == 1 and lead["outcome"] == plain["outcome"]
    event = {
        "type": "lead.created",
        "id": "0b5d7c1e-2c55-5d41-9a7e-4f4c2d0f9b11",
        "schema_version": 1,
        "conversation_id": "x",
        "channel": "rest",
        "created_at": "2026-12-01T00:00:00Z",
        "lead": lead,
    }
    assert validate_event(event) == []


def test_the_check_slot_survives_a_round_trip_and_bad_values():
    state = CrisisState(stage="risk_check", check_message="hi", checks_denied=2)
    assert CrisisState.from_slot(state.to_slot()) == state
    assert CrisisState.from_slot({"stage": "risk_check", "checks_denied": "many", "check_message": 3}) == CrisisState(
        stage="risk_check"
    )
    assert NO_RISK.language == "en"


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_check_texts_read_plainly_and_keep_988_and_911_in_view(language):
    texts = question_texts(language)
    for key in ("risk_check", "risk_check_guidance"):
        assert "988" in texts[key] and "911" in texts[key]
        assert "\n" not in texts[key]
    assert len(texts["risk_check_options"]) == 3 and "988" in episode_text("risk_denied", language)
    if language == "en":
        for text in (texts["risk_check"], texts["risk_check_guidance"], episode_text("risk_denied")):
            assert flesch_kincaid_grade(text) <= 8.0, text
        assert "suicide" in texts["risk_check"] and "someone else" in texts["risk_check"]
        assert "someone hurting you" in texts["risk_check"]


@pytest.mark.asyncio
async def test_a_spanish_message_gets_the_spanish_check_and_a_spanish_reply_to_no(domain):
    chat = Chat()
    await say(chat, "ya no quiero nada, estoy muy cansada de todo", domain, model_flagged=True)
    assert chat.messages == [question_texts("es")["risk_check"]] and chat.crisis.language == "es"
    await say(chat, "No", domain)
    assert chat.messages[0] == episode_text("risk_denied", "es") and alerts() == []
    # "No estoy seguro" is Not sure, never a No.
    chat = Chat()
    await say(chat, "ya no quiero nada, estoy muy cansada de todo", domain, model_flagged=True)
    await say(chat, "No estoy seguro", domain)
    assert "741741" in " ".join(chat.messages) and alerts()[0]["reason"] == "check_confirmed"


@pytest.mark.asyncio
@pytest.mark.parametrize("reply,intent", [("how much does it cost?", "faq"), ("stop", "stop"), ("bye", "goodbye")])
async def test_a_clinic_question_or_stop_at_the_check_is_no_clear_no_and_escalates(domain, reply, intent):
    # Never left to the interruption rules (they would skip the assessment): the form takes every reply.
    chat = await checked(domain)
    text = await chat.say(reply, domain, intent=intent, parse_data=component_parse(reply, False))
    assert "741741" in text and chat.messages[-1] == SAFE
    assert [a["reason"] for a in alerts()] == ["check_confirmed"]

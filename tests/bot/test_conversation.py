"""The conversation around the screening: crisis first, call backs, endings, and reply routing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation import current_step, is_answer_attempt
from bot.safety.detector import RiskAssessment
from bot.safety.episode import (
    ASK_CONTINUE,
    CALLBACK_QUESTION_ID,
    CHECK_IN_QUESTION_ID,
    CONTINUE_QUESTION_ID,
    SAFE_QUESTION_ID,
    CrisisState,
    answer_followup,
    check_in_reply,
    followup_question,
    open_episode,
)
from bot.safety.signals import combine_signals
from bot.screening.flow import question_by_id
from bot.screening.state import ScreeningState
from tests.bot.screening.conftest import answers_before

RISK = RiskAssessment(is_risk=True, categories=("suicidal_thoughts",), severity="high", language="en")
# Self-harm is not a C-SSRS trigger, so "Are you safe?" leads straight to the call-back offer.
HARM = RiskAssessment(is_risk=True, categories=("self_harm",), severity="high", language="en")
PLAN = RiskAssessment(is_risk=True, categories=("suicide_plan",), severity="imminent", language="en")


def test_a_new_conversation_starts_with_consent():
    assert current_step(ScreeningState(), CrisisState()).question.id == "consent"


def test_an_open_crisis_episode_is_asked_about_before_anything_else():
    crisis, is_new = open_episode(CrisisState(), HARM)
    assert is_new and crisis.flagged and crisis.episodes == 1
    assert current_step(ScreeningState(answers={"consent": "yes"}), crisis).question.id == SAFE_QUESTION_ID
    outcome = answer_followup(crisis, SAFE_QUESTION_ID, "no")
    assert (outcome.reply, outcome.alert, outcome.stopped) == ("unsafe_now", "not_safe", False)
    # "No" is an escalation: never "keep going with the questions?" next, but the call-back offer.
    assert current_step(ScreeningState(), outcome.state).question.id == CALLBACK_QUESTION_ID
    outcome = answer_followup(outcome.state, CALLBACK_QUESTION_ID, "no")
    assert current_step(ScreeningState(), outcome.state).question.id == CHECK_IN_QUESTION_ID
    # The questions resume only when the visitor asks for them.
    outcome = check_in_reply(outcome.state, wants_to_resume=True, wants_to_stop=False)
    assert (outcome.reply, outcome.state.open, outcome.state.flagged) == ("resume", False, True)
    assert current_step(ScreeningState(answers={"consent": "yes"}), outcome.state).question.id == "age"


def test_choosing_to_stop_after_a_crisis_ends_the_screening():
    crisis, _ = open_episode(CrisisState(), HARM)
    crisis = answer_followup(crisis, SAFE_QUESTION_ID, "yes").state
    crisis = answer_followup(crisis, CALLBACK_QUESTION_ID, "no").state
    outcome = answer_followup(crisis, CONTINUE_QUESTION_ID, "stop")
    assert outcome.stopped and not outcome.state.open


def test_one_episode_and_the_worst_severity_wins():
    crisis, first = open_episode(CrisisState(), RISK)
    crisis, second = open_episode(crisis, PLAN)
    assert (first, second) == (True, False)
    assert crisis.severity == "imminent"
    assert crisis.categories == ("suicidal_thoughts", "suicide_plan")
    crisis = replace(crisis, stage=ASK_CONTINUE)
    crisis = answer_followup(crisis, CONTINUE_QUESTION_ID, "continue").state
    crisis, third = open_episode(crisis, RISK)
    assert third and crisis.episodes == 2


def test_spanish_risk_gets_spanish_follow_up_questions():
    es = RiskAssessment(is_risk=True, categories=("suicidal_thoughts",), severity="high", language="es")
    crisis, _ = open_episode(CrisisState(), es)
    assert followup_question(crisis).text.startswith("¿")


def test_crisis_state_survives_a_round_trip_and_rejects_junk():
    crisis, _ = open_episode(CrisisState(), PLAN)
    assert CrisisState.from_slot(crisis.to_slot()) == crisis
    assert CrisisState.from_slot("junk") == CrisisState()
    assert CrisisState.from_slot({"severity": "apocalyptic"}).severity is None


def test_talk_to_a_person_offers_a_call_back_then_asks_only_name_and_phone():
    state = ScreeningState(answers={"consent": "yes"}).callback_offered()
    assert current_step(state, CrisisState()).question.id == "callback_offer"
    state = state.answer_callback_offer(True)
    assert current_step(state, CrisisState()).question.id == "contact_first_name"
    state = state.with_answers({**state.answers, "contact_first_name": "Ana"})
    assert current_step(state, CrisisState()).question.id == "contact_phone"
    assert not state.callback_ready()
    state = state.with_answers({**state.answers, "contact_phone": "+18185550134"})
    assert state.callback_ready()
    state = state.callback_sent()
    assert current_step(state, CrisisState()).question.id == "age"
    assert state.callback_offered().callback == "sent"  # never offered twice once sent


def test_no_call_back_offer_for_a_minor():
    state = ScreeningState(answers={"consent": "yes", "concern": "anxiety", "age": 15}).callback_offered()
    assert state.callback is None
    assert current_step(state, CrisisState()) is None


def test_a_stopped_screening_asks_nothing_and_restarting_clears_it():
    stopped = ScreeningState(answers={"consent": "yes"}).stopped()
    assert current_step(stopped, CrisisState()) is None
    assert stopped.status() == "stopped"
    fresh = stopped.restarted()
    assert fresh.run == 2 and fresh.ended is None and fresh.answers == {}


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("bupropion", "faq", True),  # the answer, not a question about medicines
        ("sertraline 100mg and lamictal", "faq", True),
        ("can I keep taking them?", "faq", False),
        ("how much does it cost", "faq", False),
        ("stop", "stop", False),
        ("start over", "start_over", False),
    ],
)
def test_free_text_answers_are_only_interrupted_by_questions_or_controls(text, intent, expected):
    assert is_answer_attempt(question_by_id("tx_current_meds"), True, intent, 0.99, text) is expected


@pytest.mark.parametrize(
    "question_id, parsed_ok, intent, confidence, expected",
    [
        ("consent", True, "stop", 0.9, True),  # a valid answer wins over a misread intent
        ("consent", False, "faq", 0.9, False),  # a clinic question is left to the rules
        ("consent", False, "inform", 0.9, True),  # unusable but no interruption: re-ask with guidance
        ("consent", True, "crisis", 1.0, False),  # risk always interrupts
        ("tx_current_meds", True, "faq", 0.95, True),  # not shaped like a question: an answer
        ("tx_current_meds", True, "faq", 0.5, True),  # free text: only a confident interruption
        ("tx_current_meds", True, "crisis", 0.3, False),
    ],
)
def test_reply_routing(question_id, parsed_ok, intent, confidence, expected):
    assert is_answer_attempt(question_by_id(question_id), parsed_ok, intent, confidence) is expected


def test_either_signal_escalates():
    assert combine_signals(True, "inform", []).escalate
    assert combine_signals(False, "crisis", [{"name": "crisis", "confidence": 0.9}]).escalate
    assert combine_signals(
        False, "inform", [{"name": "inform", "confidence": 0.5}, {"name": "crisis", "confidence": 0.45}]
    ).escalate
    low = combine_signals(
        False, "inform", [{"name": "inform", "confidence": 0.9}, {"name": "crisis", "confidence": 0.05}]
    )
    assert not low.escalate and low.model_confidence == 0.05


# --- a number the channel already knows (SMS) is confirmed, not asked for ----------------------------------

SMS_NUMBER = "+18185550134"


def answered_up_to_phone() -> ScreeningState:
    return ScreeningState(answers=answers_before("contact_phone"))


def test_the_phone_question_asks_to_confirm_the_known_number():
    step = current_step(answered_up_to_phone(), CrisisState(), SMS_NUMBER)
    assert step.question.id == "contact_phone_known"
    assert step.question.text == "Is (818) 555-0134 the best number to reach you?"
    assert [o.value for o in step.question.options] == ["yes", "no"]


def test_without_a_known_number_the_phone_question_is_asked_as_before():
    assert current_step(answered_up_to_phone(), CrisisState()).question.id == "contact_phone"
    # A number the phone question would not accept (not a US number) is asked for, too.
    assert current_step(answered_up_to_phone(), CrisisState(), "+442071234567").question.id == "contact_phone"


def test_yes_keeps_the_known_number_and_no_asks_for_one():
    screening = answered_up_to_phone()
    kept = screening.answer_known_phone(SMS_NUMBER)
    assert kept.answers["contact_phone"] == SMS_NUMBER
    assert current_step(kept, CrisisState(), SMS_NUMBER).question.id == "contact_email"
    declined = ScreeningState.from_slot(screening.answer_known_phone(None).to_slot())
    assert current_step(declined, CrisisState(), SMS_NUMBER).question.id == "contact_phone"


def test_a_call_back_confirms_the_known_number_too():
    screening = ScreeningState(answers={"consent": "yes", "contact_first_name": "Ana"}, callback="requested")
    assert current_step(screening, CrisisState(), SMS_NUMBER).question.id == "contact_phone_known"
    assert current_step(screening, CrisisState()).question.id == "contact_phone"


def test_after_not_safe_a_later_yes_offers_the_choice_again():
    crisis, _ = open_episode(CrisisState(), HARM)
    crisis = answer_followup(crisis, SAFE_QUESTION_ID, "not_sure").state
    crisis = answer_followup(crisis, CALLBACK_QUESTION_ID, "no").state
    crisis = check_in_reply(crisis, wants_to_resume=False, wants_to_stop=False).state
    assert current_step(ScreeningState(), crisis).question.id == SAFE_QUESTION_ID  # asked again once they wrote
    outcome = answer_followup(crisis, SAFE_QUESTION_ID, "yes")
    assert current_step(ScreeningState(), outcome.state).question.id == CONTINUE_QUESTION_ID

from __future__ import annotations

from bot.screening.answers import parse_answer
from bot.screening.flow import next_step, question_by_id, record_answer, screening_status
from bot.screening.model import ParsedAnswer
from tests.bot.screening.shipped_order import CI, CONTACT, GAD, PHQ, START, TX


def test_depression_path_order(order_of):
    assert order_of() == [*START, *GAD, *PHQ, *TX, *CI, *CONTACT]


def test_ptsd_branch_asks_gate_then_items(order_of):
    order = order_of({"concern": "PTSD", "pcptsd5_trauma": "Yes"})
    pc = ["pcptsd5_trauma"] + [f"pcptsd5_{i}" for i in range(1, 6)]
    assert order == [*START, *GAD, *PHQ, *pc, *TX, *CI, *CONTACT]


def test_ptsd_gate_no_skips_items(order_of, run_screening):
    order = order_of({"concern": "trauma", "pcptsd5_trauma": "No"})
    assert "pcptsd5_trauma" in order
    assert not any(q.startswith("pcptsd5_") and q != "pcptsd5_trauma" for q in order)
    assert order.index("pcptsd5_trauma") == order.index("phq9_9") + 1


def test_ocd_branch(order_of):
    order = order_of({"concern": "OCD"})
    oci = [f"oci4_{i}" for i in range(1, 5)]
    assert order == [*START, *GAD, *PHQ, *oci, *TX, *CI, *CONTACT]
    assert "pcptsd5_trauma" not in order


def test_declined_ends_with_nothing_more():
    answers = record_answer({}, question_by_id("consent"), parse_answer(question_by_id("consent"), "no"))
    assert next_step(answers) is None
    assert screening_status(answers) == "declined"


def test_minor_ends_without_more_questions(run_screening):
    # Age comes right after consent: a minor is never asked the main concern or any health question.
    answers = run_screening({"age": "16"})
    assert set(answers) == {"consent", "age"}
    assert screening_status(answers) == "minor"
    assert next_step({"consent": "yes"}).question.id == "age"


def test_adult_at_18_continues(run_screening):
    answers = run_screening({"age": "18"})
    assert screening_status(answers) == "complete"


def test_not_eligible_asks_optin_first_and_no_ends(order_of, run_screening):
    order = order_of({"ci_pregnancy": "Yes", "contact_optin": "No"})
    assert order[-1] == "contact_optin"
    answers = run_screening({"ci_pregnancy": "Yes", "contact_optin": "No"})
    assert screening_status(answers) == "no_contact"
    assert not any(k.startswith("contact_") and k != "contact_optin" for k in answers)


def test_not_eligible_optin_yes_continues_to_contact(order_of):
    order = order_of({"ci_heart_recent": "yes", "contact_optin": "yes"})
    assert order[-7:] == ["contact_optin", *CONTACT]


def test_outcome_told_before_first_contact_question(run_screening):
    answers = run_screening()
    partial = {k: v for k, v in answers.items() if not k.startswith("contact_")}
    step = next_step(partial)
    assert step.question.id == "contact_first_name"
    assert "clinician will look over" in step.preface[0]
    qualified = dict(partial, **dict.fromkeys(GAD, "nearly_every_day"))
    assert "consultation could be a good next step" in next_step(qualified).preface[0]
    ineligible = dict(partial, ci_psychosis="yes")
    step = next_step(ineligible)
    assert step.question.id == "contact_optin" and "may not be the right fit" in step.preface[0]
    # the outcome is not repeated on the next contact question
    assert next_step(dict(ineligible, contact_optin="yes")).preface == ()


def test_crisis_flag_changes_the_outcome_message(run_screening):
    high_gad = dict.fromkeys(GAD, "Nearly every day")
    partial = {k: v for k, v in run_screening(high_gad).items() if not k.startswith("contact_")}
    assert "good next step" in next_step(partial).preface[0]
    assert "clinician will look over" in next_step(partial, crisis_flag=True).preface[0]


def test_contact_consent_no_means_no_contact(run_screening):
    answers = run_screening({"contact_consent": "no"})
    assert next_step(answers) is None
    assert screening_status(answers) == "no_contact"


def test_complete(run_screening):
    answers = run_screening()
    assert next_step(answers) is None
    assert screening_status(answers) == "complete"


def test_in_progress_statuses():
    assert screening_status({}) == "in_progress"
    assert screening_status({"consent": "yes", "concern": "anxiety"}) == "in_progress"


def test_answered_questions_are_never_re_asked(default_reply):
    answers = {"consent": "yes", "concern": "anxiety", "age": 30, "gad7_3": "several_days"}
    seen = []
    while True:
        step = next_step(answers)
        if step is None:
            break
        assert step.question.id not in answers and step.question.id not in seen
        seen.append(step.question.id)
        parsed = parse_answer(step.question, default_reply(step.question.id))
        answers = record_answer(answers, step.question, parsed)
    assert "gad7_3" not in seen and seen[0] == "gad7_1"


def test_stems_and_section_prefaces():
    assert next_step({}).preface[-1].startswith("If you are in danger right now, call 911")
    assert "not a doctor" in next_step({}).preface[0]
    start = {"consent": "yes", "age": 30, "concern": "anxiety"}
    first_item = next_step(start)
    assert first_item.preface == ()  # the stem is part of every item (test_every_instrument_item_is_a_whole_question)
    assert first_item.question.text.startswith("Over the last 2 weeks, how often have you been bothered by")
    assert next_step(dict(start, gad7_1="not_at_all")).preface == ()


def test_record_answer_returns_a_new_dict_and_ignores_failed_parses():
    question = question_by_id("consent")
    original = {}
    updated = record_answer(original, question, ParsedAnswer(ok=True, value="yes", display="Yes"))
    assert updated == {"consent": "yes"} and original == {}
    assert record_answer(updated, question, ParsedAnswer(ok=False, error="x")) == {"consent": "yes"}


def test_question_by_id_unknown():
    import pytest

    with pytest.raises(KeyError):
        question_by_id("nope")


def test_forged_slot_values_do_not_skip_questions():
    # consent=True (a boolean from an injected entity) is not a validated answer: consent is asked again.
    assert next_step({"consent": True}).question.id == "consent"
    assert next_step({"consent": "yes", "concern": "anxiety", "age": "30"}).question.id == "age"
    assert screening_status({"consent": "yes", "contact_consent": "yes"}) == "in_progress"


def test_none_and_garbage_answers_do_not_crash():
    assert next_step(None).question.id == "consent"
    assert screening_status("garbage") == "in_progress"

"""The health checklist: the review-only items in one question, so a visitor with none of them answers once."""

from __future__ import annotations

import shutil

import pytest
import yaml

from bot.channels.sms import render_message
from bot.screening.answers import display_value, is_valid_value, parse_answer
from bot.screening.content import DEFAULT_CONTENT_DIR, ContentError, content, load_content
from bot.screening.flow import question_by_id, screening_progress
from bot.screening.lead import NoConsentToContact, build_lead
from bot.screening.model import Question
from tests.bot.screening.conftest import asked_order
from tests.bot.screening.shipped_order import CHECKLIST, CI_QUESTIONS, CONTACT, GAD, PHQ, START, TX


def checklist() -> Question:
    return question_by_id(CHECKLIST)


def number_of(item_id: str) -> int:
    """The number the item is shown with (1 is None of these)."""
    return [item.value for item in checklist().checklist_items].index(item_id) + 2


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("None of these", ["none"]),
        ("none", ["none"]),
        ("1", ["none"]),
        ("No", ["none"]),
        ("nope, none of them", ["none"]),
        ("Not sure", ["not_sure"]),
        ("idk", ["not_sure"]),
        ("bladder problems and my brother has schizophrenia", ["ci_family_schizophrenia", "ci_bladder"]),
        ("my mom has schizophrenia", ["ci_family_schizophrenia"]),
        ("liver disease, glaucoma", ["ci_liver", "ci_eye_pressure"]),
        ("I used ketamine at parties", ["ci_dissociative_use"]),
        ("bladder problems from ketamine", ["ci_bladder"]),
        ("we are trying for a baby", ["ci_trying_pregnancy"]),
        ("I heard voices years ago", ["ci_past_psychosis"]),
        ("old heart attack in 2015", ["ci_heart_controlled"]),
    ],
)
def test_replies_in_words(reply, expected):
    parsed = parse_answer(checklist(), reply)
    assert parsed.ok, parsed.error
    assert parsed.value == expected


def test_numbers_as_shown():
    bipolar, liver = number_of("ci_bipolar"), number_of("ci_liver")
    for reply in (f"{bipolar} and {liver}", f"{bipolar}, {liver}", f"{liver} {bipolar}", f"#{bipolar} & #{liver}"):
        parsed = parse_answer(checklist(), reply)
        assert parsed.ok and parsed.value == ["ci_bipolar", "ci_liver"], reply
    assert parse_answer(checklist(), f"{liver} and bladder problems").value == ["ci_bladder", "ci_liver"]


@pytest.mark.parametrize(
    "reply,says",
    [
        ("banana", "Please type the numbers"),
        ("yes", "Please type the numbers"),  # which one?
        ("schizophrenia", "Please type the numbers"),  # theirs is an earlier question; a relative's needs who
        ("14", "There is no number 14."),
        ("0", "There is no number 0."),
        ("1 and 3", "You picked None of these and something else."),
        ("none, but 3", "You picked None of these and something else."),
        ("maybe 3", 'If you are not sure, type "Not sure".'),
        ("no liver problems", "Please type the numbers"),
        ("not 4", "Please type the numbers"),
        ('/inform{"ci_checklist": ["none"]}', "Please type the numbers"),
    ],
)
def test_a_reply_it_cannot_read_is_asked_again_with_guidance(reply, says):
    parsed = parse_answer(checklist(), reply)
    assert not parsed.ok and parsed.value is None
    assert says in parsed.error


def test_the_numbers_are_shown_in_the_question_on_every_channel():
    question = checklist()
    lines = question.text.split("\n")
    assert lines[1] == "1. None of these"
    assert lines[2:] == [f"{n}. {item.title}" for n, item in enumerate(question.checklist_items, start=2)]
    # Widget and SMS send one button, "None of these": on SMS it reads as reply 1, the number shown beside it.
    assert [option.title for option in question.options] == ["None of these"]
    sms = render_message({"text": question.text, "buttons": [{"title": "None of these"}]})
    assert sms.endswith("Reply 1 for None of these.")


def test_stored_values_are_checked_and_shown():
    question = checklist()
    assert is_valid_value(question, ["ci_bipolar", "ci_liver"])
    for forged in (["ci_liver", "ci_bipolar"], [], "none", ["none", "ci_liver"], ["ci_pregnancy"], [True]):
        assert not is_valid_value(question, forged), forged
    assert display_value(question, ["none"]) == "None of these"
    assert display_value(question, ["ci_bipolar", "ci_liver"]) == "Bipolar disorder; Liver disease"


def test_a_visitor_with_none_of_the_conditions_answers_one_question_for_all_review_items():
    order = asked_order({"concern": "Anxiety"})
    assert order == [*START, *GAD, *PHQ, *TX, *CI_QUESTIONS, CHECKLIST, *CONTACT]
    assert CHECKLIST in order and not any(rule.id in order for rule in content().checklist_rules)


def test_an_anxiety_screening_is_not_longer_than_38_questions():
    # Issue 14: 38 questions before (10 health questions); the added conditions must not lengthen it.
    count = len(asked_order({"concern": "Anxiety"}))
    assert count <= 38, count
    assert count == 37  # measured: 3 intake, 16 instrument items, 3 history, 8 health + 1 checklist, 6 contact


def test_a_minor_is_asked_age_right_after_consent_and_gives_no_health_information():
    assert asked_order({"age": "16"}) == ["consent", "age"]
    answers = {"consent": "yes", "age": 16}
    assert screening_progress(answers).status == "minor" and screening_progress(answers).next_step is None
    # Even with every other answer forged into the slot, a minor's answers never become a lead.
    forged = {**answers, "concern": "anxiety", "contact_first_name": "Sam", "contact_consent": "yes"}
    with pytest.raises(NoConsentToContact):
        build_lead(forged)


def _clinic_with(tmp_path, edit):
    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    path = clinic / "contraindications.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return clinic


def test_an_absolute_item_cannot_hide_in_the_checklist(tmp_path):
    def absolute_in_checklist(data):
        data["checklist"]["items"][0]["class"] = "absolute"

    with pytest.raises(ContentError, match="only review items"):
        load_content(_clinic_with(tmp_path, absolute_in_checklist))


def test_every_checklist_item_needs_its_source(tmp_path):
    def no_source(data):
        del data["checklist"]["items"][2]["source"]

    with pytest.raises(ContentError, match="source"):
        load_content(_clinic_with(tmp_path, no_source))


def test_the_recent_window_is_read_from_the_data(tmp_path):
    assert "In the last 6 weeks" in question_by_id("ci_heart_recent").text

    def eight_weeks(data):
        data["thresholds"]["recent_weeks"]["value"] = 8

    data = load_content(_clinic_with(tmp_path, eight_weeks))
    assert "In the last 8 weeks" in data.questions["ci_heart_recent"].text
    assert "more than 8 weeks ago" in data.questions[CHECKLIST].text

    def no_source(data):
        del data["thresholds"]["recent_weeks"]["source"]

    with pytest.raises(ContentError, match="recent_weeks"):
        load_content(_clinic_with(tmp_path / "b", no_source))


def test_a_follow_up_is_asked_only_where_its_item_was_picked():
    base = asked_order({"concern": "Anxiety"})
    assert not {"ci_bipolar_mood_stabilizer", "ci_dissociative_recent", "ci_substance_recent"} & set(base)
    bipolar = number_of("ci_bipolar")
    order = asked_order({"concern": "Anxiety", CHECKLIST: f"{bipolar} and ketamine at parties"})
    at = order.index(CHECKLIST)
    assert order[at + 1 : at + 3] == ["ci_bipolar_mood_stabilizer", "ci_dissociative_recent"]
    assert order[at + 3] == CONTACT[0]
    assert "last 12 months" in question_by_id("ci_dissociative_recent").text  # thresholds.abstinent_months


def test_a_follow_up_answer_is_in_the_lead_and_changes_no_outcome(run_screening):
    answers = run_screening({CHECKLIST: "bipolar", "ci_bipolar_mood_stabilizer": "Yes"})
    lead = build_lead(answers)
    assert lead["outcome"] == "needs_review"
    entry = next(a for a in lead["answers"] if a["id"] == "ci_bipolar_mood_stabilizer")
    assert entry["answer"] == "Yes"
    ids = [a["id"] for a in lead["answers"]]
    assert ids.index("ci_bipolar_mood_stabilizer") == ids.index(CHECKLIST) + 1
    no = build_lead(run_screening({CHECKLIST: "bipolar", "ci_bipolar_mood_stabilizer": "No"}))
    assert [r["id"] for r in no["reasons"]] == [r["id"] for r in lead["reasons"]]

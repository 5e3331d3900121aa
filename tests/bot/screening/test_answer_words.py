"""Yes / No / Not sure words: one list (data/clinic/answer_words.yml) for every question that offers them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.safety.episode import ASK_SAFE, CrisisState, followup_question
from bot.screening import content as content_module
from bot.screening.answers import parse_answer
from bot.screening.content import DEFAULT_CONTENT_DIR, ContentError, answer_words, load_content
from bot.screening.flow import question_by_id
from bot.screening.model import Question

# Screening questions offering Yes / No (Not sure) from flow.yml, instruments.yml and contraindications.yml.
SCREENING = [
    "consent",
    "tx_therapy",
    "contact_optin",
    "contact_consent",
    "pcptsd5_trauma",
    "pcptsd5_1",
    "ci_mania",
    "ci_pregnancy",
]


def safety_question(language: str = "en") -> Question:
    """The crisis follow-up "Are you safe right now?" (Yes / No / Not sure)."""
    question = followup_question(CrisisState(flagged=True, open=True, stage=ASK_SAFE, language=language))
    assert question is not None
    return question


def questions_offering(value: str) -> list:
    """Questions that take the shared words for `value`. "Are you safe right now?" takes only the shared Not
    sure words: its Yes and No are its own, narrow list (tests/bot/safety/test_safety_question_words.py)."""
    questions = [question_by_id(q) for q in SCREENING] + [safety_question("en"), safety_question("es")]
    return [q for q in questions if q.option(value) is not None and (q.shared_yes_no_words or value == "not_sure")]


@pytest.mark.parametrize("value", ["yes", "no", "not_sure"])
def test_every_listed_word_means_the_same_at_every_question_that_offers_it(value):
    questions = questions_offering(value)
    assert any(q.section == "crisis" for q in questions) == (value == "not_sure") and len(questions) > 2
    for word in answer_words().for_value(value):
        for question in questions:
            assert parse_answer(question, word).value == value, (word, question.id)


def clinic_copy(tmp_path: Path) -> Path:
    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    return clinic


def edit_words(clinic: Path, key: str, word: str) -> None:
    path = clinic / "answer_words.yml"
    words = yaml.safe_load(path.read_text(encoding="utf-8"))
    words[key].append(word)
    path.write_text(yaml.safe_dump(words, allow_unicode=True), encoding="utf-8")


def test_a_word_added_to_the_list_is_understood_by_the_screening_and_the_crisis_question(tmp_path, monkeypatch):
    consent, health = question_by_id("consent"), question_by_id("ci_mania")
    assert not parse_answer(consent, "yessir").ok and not parse_answer(safety_question(), "yessir").ok
    clinic = clinic_copy(tmp_path)
    edit_words(clinic, "yes", "yessir")
    edit_words(clinic, "not_sure", "beats me")
    monkeypatch.setattr(content_module, "DEFAULT_CONTENT_DIR", clinic)
    assert parse_answer(consent, "Yessir").value == "yes"
    assert parse_answer(health, "yessir").value == "yes"
    assert parse_answer(safety_question(), "beats me!").value == "not_sure"
    assert parse_answer(safety_question("es"), "beats me").value == "not_sure"
    # A new Yes word never makes "Are you safe right now?" read as safe: that list is deliberately narrow.
    assert not parse_answer(safety_question(), "yessir").ok


def test_a_hedge_added_to_the_list_keeps_a_reply_from_being_a_firm_answer(tmp_path, monkeypatch):
    consent = question_by_id("consent")
    assert parse_answer(consent, "yes probably").value == "yes"
    clinic = clinic_copy(tmp_path)
    edit_words(clinic, "hedges", "probably")
    monkeypatch.setattr(content_module, "DEFAULT_CONTENT_DIR", clinic)
    assert not parse_answer(consent, "yes probably").ok


def test_an_unquoted_yes_in_the_word_list_is_refused(tmp_path):
    clinic = clinic_copy(tmp_path)
    path = clinic / "answer_words.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('"yes":', "yes:", 1), encoding="utf-8")
    with pytest.raises(ContentError, match="quote"):
        load_content(clinic)

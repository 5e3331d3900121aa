from __future__ import annotations

import re

import pytest
import yaml

from bot.readability import flesch_kincaid_grade
from bot.safety import responses
from bot.safety.detector import CATEGORY_ORDER, RiskAssessment, assess_risk
from bot.safety.responses import (
    DEFAULT_RESPONSES_PATH,
    LAST_RESORT_CRISIS_REPLY,
    ResponsesError,
    crisis_reply,
    fallback_reply,
    followup_reply,
    parse_responses,
)

SEVERITY = {"overdose": "imminent", "suicide_plan": "imminent", "method_request": "imminent", "not_safe": "imminent"}


def _assessment(category: str, language: str = "en") -> RiskAssessment:
    return RiskAssessment(True, (category,), SEVERITY.get(category, "high"), language)


def _every_reply() -> list[tuple[str, str, str]]:
    """(label, language, text) for every text a visitor can receive from this module."""
    out = []
    for language in ("en", "es"):
        for category in CATEGORY_ORDER:
            out.append((category, language, crisis_reply(_assessment(category, language))))
        out.append(("repeat", language, crisis_reply(_assessment("self_harm", language), repeat=True)))
        out.append(("fallback", language, fallback_reply(language)))
        for kind in ("unsafe_now", "safe_now"):
            out.append((kind, language, followup_reply(kind, language)))
    return out


CRISIS_REPLIES = [(c, lang, t) for c, lang, t in _every_reply() if c in CATEGORY_ORDER or c in ("repeat", "fallback")]


@pytest.mark.parametrize("label, language, text", _every_reply())
def test_every_reply_is_one_paragraph_with_988_and_911(label, language, text):
    assert "\n" not in text and "\r" not in text
    assert "988" in text
    assert "911" in text


@pytest.mark.parametrize("label, language, text", CRISIS_REPLIES)
def test_crisis_replies_give_the_crisis_text_line_with_the_keyword_of_their_language(label, language, text):
    # Crisis Text Line: HOME in English, AYUDA in Spanish (reference notes §4).
    assert "741741" in text and ("HOME" if language == "en" else "AYUDA") in text


@pytest.mark.parametrize("label, language, text", [r for r in CRISIS_REPLIES if r[0] != "repeat"])
def test_press_a_number_is_only_ever_offered_for_a_call(label, language, text):
    # "Press 1" / "oprime 2" work on a call only; by text, veterans use 838255 and Spanish speakers AYUDA.
    if language == "en":
        assert "call 988 and press 1, or text 838255" in text
        assert "988lifeline.org" in text or "fallback" in label
    else:
        assert "llamar al 988 y oprimir 1, o enviar un texto al 838255" in text
        assert "AYUDA" in text and "al 988" in text
    assert "text 988 and press" not in text and "texto al 988 y oprime" not in text


@pytest.mark.parametrize("label, language, text", [r for r in CRISIS_REPLIES if r[0] != "repeat"])
def test_full_crisis_replies_name_veterans_line_emergency_room_and_staff(label, language, text):
    if language == "en":
        assert "Veterans can call 988 and press 1" in text
        assert "emergency room" in text
        assert "clinic team" in text
    else:
        assert "oprime 2" in text and "oprimir 1" in text
        assert "sala de emergencias" in text
        assert "equipo de la cl\u00ednica" in text


@pytest.mark.parametrize("label, language, text", _every_reply())
def test_safe_messaging_wording(label, language, text):
    lowered = text.lower()
    assert "committed suicide" not in lowered and "commit suicide" not in lowered
    assert "successful attempt" not in lowered and "failed attempt" not in lowered
    assert "are you safe right now" not in lowered  # the caller asks that separately
    assert "\u00bfest\u00e1s a salvo ahora mismo?" not in lowered


@pytest.mark.parametrize("language", ["en", "es"])
def test_danger_from_others_adds_domestic_violence_hotline(language):
    text = crisis_reply(_assessment("danger_from_others", language))
    assert "1-800-799-7233" in text and "START" in text and "88788" in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_overdose_adds_poison_control_and_call_911_now(language):
    text = crisis_reply(_assessment("overdose", language))
    assert "1-800-222-1222" in text
    assert ("call 911 now" in text) if language == "en" else ("llama al 911 ahora" in text)


def test_method_request_starts_by_declining():
    assert crisis_reply(_assessment("method_request")).startswith("I can't help with that.")
    assert crisis_reply(_assessment("method_request", "es")).startswith("No puedo ayudarte con eso.")


def test_secondary_categories_add_their_resources():
    assessment = assess_risk("I took all my pills because my husband hits me")
    assert assessment.categories[0] == "overdose" and "danger_from_others" in assessment.categories
    text = crisis_reply(assessment)
    assert "1-800-222-1222" in text and "1-800-799-7233" in text
    # only once each, and a DV line is not added when nothing about abuse matched
    assert text.count("1-800-222-1222") == 1
    assert "1-800-799-7233" not in crisis_reply(_assessment("suicidal_thoughts"))


def test_spanish_input_gets_a_spanish_reply():
    assessment = assess_risk("me quiero morir")
    assert assessment.language == "es"
    text = crisis_reply(assessment)
    assert "Gracias" in text and "oprime 2" in text
    assert "Thank you" not in text


@pytest.mark.parametrize("category", CATEGORY_ORDER)
def test_each_category_has_its_own_opening(category):
    openings = {crisis_reply(_assessment(c)).split(". ")[0] for c in CATEGORY_ORDER}
    assert len(openings) >= 5  # not one generic text for everything
    assert crisis_reply(_assessment(category))


def test_repeat_reply_is_short():
    full = crisis_reply(_assessment("suicidal_thoughts"))
    short = crisis_reply(_assessment("suicidal_thoughts"), repeat=True)
    assert len(short) < len(full) / 1.5


def test_unknown_category_or_language_still_gets_a_reply():
    odd = RiskAssessment(True, ("unspecified",), "high", "fr")
    text = crisis_reply(odd)
    assert "988" in text and "911" in text and text.startswith("Thank you")
    assert "988" in crisis_reply(RiskAssessment(False, (), None, "en"))
    assert followup_reply("safe_now", "de") == followup_reply("safe_now", "en")


def test_followup_kinds():
    assert "911" in followup_reply("unsafe_now") and "now" in followup_reply("unsafe_now")
    # The choice itself (keep going / stop) is the next question (bot/safety/episode.py), not repeated here.
    assert "glad" in followup_reply("safe_now") and "988" in followup_reply("safe_now")
    assert followup_reply("unsafe_now", "es") != followup_reply("unsafe_now", "en")
    with pytest.raises(ValueError, match="unknown follow-up kind"):
        followup_reply("maybe")


@pytest.mark.parametrize("label, language, text", [r for r in _every_reply() if r[1] == "en"])
def test_english_replies_at_or_below_8th_grade(label, language, text):
    assert flesch_kincaid_grade(text) <= 8.0


def test_english_sentences_are_short():
    for _, language, text in _every_reply():
        if language == "en":
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                assert len(sentence.split()) <= 25, sentence


def test_missing_text_in_responses_file_is_a_clear_error():
    data = yaml.safe_load(DEFAULT_RESPONSES_PATH.read_text(encoding="utf-8"))
    del data["es"]["openings"]["overdose"]
    with pytest.raises(ResponsesError, match="es.openings.overdose"):
        parse_responses(data)
    with pytest.raises(ResponsesError, match="missing language"):
        parse_responses({"en": data["en"]})


def test_line_breaks_in_the_file_cannot_split_an_sms():
    data = yaml.safe_load(DEFAULT_RESPONSES_PATH.read_text(encoding="utf-8"))
    data["en"]["resources"] = "Call or text 988.\n\nCall 911 if in danger."
    parsed = parse_responses(data)
    assert "\n" not in parsed["en"]["resources"]


def test_the_fallback_reply_comes_from_the_data_and_needs_nothing_else():
    data = yaml.safe_load(DEFAULT_RESPONSES_PATH.read_text(encoding="utf-8"))
    assert fallback_reply("en") == " ".join(data["en"]["fallback"].split())
    assert fallback_reply("es") != fallback_reply("en") and fallback_reply("fr") == fallback_reply("en")
    del data["en"]["fallback"]
    with pytest.raises(ResponsesError, match="en.fallback"):
        parse_responses(data)


def test_the_fallback_reply_survives_unreadable_data(monkeypatch, tmp_path):
    monkeypatch.setattr(responses, "DEFAULT_RESPONSES_PATH", tmp_path / "missing.yml")
    responses._default_responses.cache_clear()
    try:
        assert fallback_reply("es") == LAST_RESORT_CRISIS_REPLY
    finally:
        responses._default_responses.cache_clear()


def test_load_responses_bad_path(tmp_path):
    with pytest.raises(ResponsesError, match="cannot read crisis responses"):
        responses.load_responses(tmp_path / "nope.yml")

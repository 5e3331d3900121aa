"""Spanish messages (data/clinic/languages.yml): told kindly, in Spanish, that we chat in English for now."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clinic import load_clinic_profile
from bot.language import LanguagesError, is_spanish, load_spanish_check, plain_words, spanish_notice


@pytest.mark.parametrize(
    "text",
    [
        "hola, tienen información en español?",
        "hablan español?",
        "necesito ayuda en español",
        "Hablan Espanol",
        "tengo mucha ansiedad",
        "¿Cuánto cuesta la ketamina?",
        "buenas tardes, quisiera saber sobre el tratamiento",
    ],
)
def test_spanish_messages_are_recognised(text):
    assert is_spanish(text, load_spanish_check())


@pytest.mark.parametrize(
    "text",
    [
        "hi",
        "hola",  # an English speaker's "hola" alone gets the English introduction
        "I'm a nurse and I work nights, do you have evening hours?",
        "I live in Los Angeles near San Fernando",
        "what part of LA is the office in",
        "my doctor said a soy diet might help, is that a favor to ask",
        "Maria",
        "no",
        "",
        "¿?",
    ],
)
def test_english_messages_are_not_spanish(text):
    assert not is_spanish(text, load_spanish_check())


def test_words_are_compared_without_accents_or_case():
    assert plain_words("¿Información? ESPAÑOL") == ["informacion", "espanol"]


def test_the_notice_is_spanish_with_the_clinic_phone_and_the_spanish_crisis_lines():
    profile = load_clinic_profile()
    notice = spanish_notice(load_spanish_check(), profile.phone)
    assert profile.phone in notice and "{" not in notice
    # 988 press 2 and AYUDA to 988 (988lifeline.org), AYUDA to 741741 (Crisis Text Line), 911 (reference notes 4)
    for line in ("988 y oprime 2", "AYUDA al 988", "AYUDA al 741741", "911"):
        assert line in notice
    assert "inglés" in notice  # says we chat in English for now, and offers to go on in English


def test_a_languages_file_without_words_fails_loudly(tmp_path: Path):
    path = tmp_path / "languages.yml"
    path.write_text("spanish:\n  notice: hola\n", encoding="utf-8")
    with pytest.raises(LanguagesError):
        load_spanish_check(path)

from __future__ import annotations

import pytest

from bot.safety.normalize import normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("I WANT TO DIE", "i want to die"),
        ("Quiero MORIR, ¿por qué?", "quiero morir . por que"),
        ("hacerme daño", "hacerme dano"),
        ("I\u2019m done", "i am done"),
        ("I'm done", "i am done"),
        ("im done", "i am done"),
        ("i am done", "i am done"),
        ("don\u2019t", "dont"),
        ("do not", "dont"),
        ("can't", "cant"),
        ("\u201cquoted\u201d", "quoted"),
    ],
)
def test_case_accents_quotes_and_contractions(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("sooooo tired", "so tired"),
        ("i want to dieeee", "i want to die"),
        ("end it alllll", "end it all"),
        ("killllll myself", "kill myself"),
        ("feeeel", "feel"),
        ("sleeeep", "sleep"),
    ],
)
def test_stretched_letters_keep_a_matching_form(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("kms", "kill myself"),
        ("unalive myself", "kill myself"),
        ("want 2 die", "want to die"),
        ("wanna die", "want to die"),
        ("gonna end it", "going to end it"),
        ("k1ll mys3lf", "kill myself"),
        ("su1c1de", "suicide"),
        ("sucide", "suicide"),
        ("suicde", "suicide"),
        ("suicidel", "suicidal"),
        ("sucidal", "suicidal"),
        ("kil myself", "kill myself"),
        ("kill myslef", "kill myself"),
        ("I OD'd", "i overdosed"),
    ],
)
def test_slang_leetspeak_and_misspellings(raw, expected):
    assert normalize(raw) == expected


def test_leetspeak_leaves_numbers_doses_and_phones_alone():
    assert normalize("took 30 pills of 50mg, call 988") == "took 30 pills of 50mg . call 988"


def test_spanish_sucede_is_not_mistaken_for_suicide():
    assert normalize("¿qué sucede?") == "que sucede"


def test_clause_punctuation_becomes_one_dot_token_and_spaces_collapse():
    assert normalize("  I'm not suicidal...   I want   to die!!! ") == "i am not suicidal . i want to die"


def test_odd_as_an_adjective_stays():
    assert normalize("that is odd") == "that is odd"


@pytest.mark.parametrize("raw", ["", "   ", "...", None, 42, b"bytes"])
def test_empty_or_non_text_gives_empty_string(raw):
    assert normalize(raw) in ("",)


def test_pure_and_idempotent():
    text = "I\u2019m sooo DONE, wanna d1e"
    once = normalize(text)
    assert normalize(text) == once
    assert normalize(once) == once


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("im finna kms", "i am going to kill myself"),
        ("gunna end it", "going to end it"),
        ("tryna disappear", "trying to disappear"),
        ("ill be dead by tomorrow", "i will be dead by tomorrow"),
        ("I feel ill today", "i feel ill today"),
        ("killin myself", "killing myself"),
        ("i want to be ded", "i want to be dead"),
        ("jus tired of ppl", "just tired of people"),
        ("some1 help", "someone help"),
        ("sum1 stop me", "someone stop me"),
        ("saying bye rn", "saying bye right now"),
        ("the RN said an RN is on site", "the rn said an rn is on site"),
    ],
)
def test_texting_shorthand_added_for_issue_8(raw, expected):
    assert normalize(raw) == expected

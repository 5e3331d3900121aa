from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from bot.safety import detector
from bot.safety.detector import (
    CATEGORY_ORDER,
    DEFAULT_LEXICON_PATH,
    SEVERITY_ORDER,
    LexiconError,
    RiskAssessment,
    assess_risk,
    load_lexicon,
    most_severe,
    parse_lexicon,
)

# (message, expected category, language) for every category in English and Spanish. These are the
# examples from the issue; the broader generalisation check is tests/data/crisis_eval.yml.
CATEGORY_EXAMPLES = [
    ("I want to die", "suicidal_thoughts", "en"),
    ("honestly everyone would be better off dead without me, I'd be better off dead", "suicidal_thoughts", "en"),
    ("there is no reason to live", "suicidal_thoughts", "en"),
    ("kms", "suicidal_thoughts", "en"),
    ("gonna unalive myself", "suicidal_thoughts", "en"),
    ("I don't want to wake up tomorrow", "suicidal_thoughts", "en"),
    ("I just want to end it all", "suicidal_thoughts", "en"),
    ("quiero morir", "suicidal_thoughts", "es"),
    ("me quiero matar", "suicidal_thoughts", "es"),
    ("no quiero vivir", "suicidal_thoughts", "es"),
    ("estoy pensando en suicidarme", "suicidal_thoughts", "es"),
    ("I have a plan", "suicide_plan", "en"),
    ("I bought a gun to end things", "suicide_plan", "en"),
    ("I have my pills saved up", "suicide_plan", "en"),
    ("tonight I'm going to do it", "suicide_plan", "en"),
    ("I wrote a suicide note", "suicide_plan", "en"),
    ("voy a suicidarme", "suicide_plan", "es"),
    ("I tried to kill myself last year", "past_attempt", "en"),
    ("after my attempt I was in hospital", "past_attempt", "en"),
    ("intenté suicidarme", "past_attempt", "es"),
    ("I keep cutting myself", "self_harm", "en"),
    ("sometimes I burn myself", "self_harm", "en"),
    ("I hurt myself when I'm upset", "self_harm", "en"),
    ("quiero hacerme daño", "self_harm", "es"),
    ("me corto cuando estoy triste", "self_harm", "es"),
    ("I took a whole bottle of my meds", "overdose", "en"),
    ("I took too many pills", "overdose", "en"),
    ("I overdosed", "overdose", "en"),
    ("me tomé todas mis pastillas", "overdose", "es"),
    ("I'm not safe", "not_safe", "en"),
    ("I don't feel safe with myself", "not_safe", "en"),
    ("no estoy a salvo", "not_safe", "es"),
    ("I want to kill him", "harm_to_others", "en"),
    ("I might hurt someone", "harm_to_others", "en"),
    ("I'm going to shoot up the school", "harm_to_others", "en"),
    ("quiero matar a alguien", "harm_to_others", "es"),
    ("he hits me", "danger_from_others", "en"),
    ("my partner threatened to kill me", "danger_from_others", "en"),
    ("I'm being abused", "danger_from_others", "en"),
    ("I'm afraid he'll hurt me", "danger_from_others", "en"),
    ("mi pareja me pega", "danger_from_others", "es"),
    ("how much ketamine would kill me", "method_request", "en"),
    ("what is the lethal dose of ketamine", "method_request", "en"),
    ("how many pills to die", "method_request", "en"),
    ("what is a painless way to die", "method_request", "en"),
    ("what amount of ketamine would stop my heart", "method_request", "en"),
    ("¿cuál es la dosis letal?", "method_request", "es"),
]


@pytest.mark.parametrize("text, category, language", CATEGORY_EXAMPLES)
def test_every_category_in_english_and_spanish(text, category, language):
    result = assess_risk(text)
    assert result.is_risk
    assert category in result.categories
    assert result.language == language
    assert result.severity == most_severe(detector.get_lexicon().severities[c] for c in result.categories)


def test_examples_cover_every_category_in_both_languages():
    covered = {(category, language) for _, category, language in CATEGORY_EXAMPLES}
    assert covered == {(c, lang) for c in CATEGORY_ORDER for lang in ("en", "es")}


@pytest.mark.parametrize(
    "category, severity",
    [
        ("suicide_plan", "imminent"),
        ("overdose", "imminent"),
        ("not_safe", "imminent"),
        ("method_request", "imminent"),
        ("suicidal_thoughts", "high"),
        ("harm_to_others", "high"),
        ("danger_from_others", "high"),
        ("past_attempt", "moderate"),
        ("self_harm", "moderate"),
    ],
)
def test_severity_per_category(category, severity):
    assert detector.get_lexicon().severities[category] == severity


def test_categories_sorted_most_severe_first():
    result = assess_risk("I tried to kill myself before and now I took all my pills")
    assert result.categories[0] == "overdose"
    assert result.severity == "imminent"
    ranks = [SEVERITY_ORDER.index(detector.get_lexicon().severities[c]) for c in result.categories]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize(
    "text",
    [
        "This traffic is killing me",
        "I'm dying to know how it works",
        "the dead line is friday",
        "what is the deadline",
        "I've been killing it at work",
        "my feet are killing me",
        "I could kill for a coffee",
        "I nearly died laughing",
        "she is drop-dead gorgeous",
        "I'm dead tired",
        "just trying to kill time",
        "I died of embarrassment",
    ],
)
def test_benign_idioms_do_not_match(text):
    assert assess_risk(text) == RiskAssessment(False, (), None, "en")


@pytest.mark.parametrize(
    "text",
    [
        "I am not suicidal",
        "never had thoughts of suicide",
        "no thoughts of hurting myself",
        "I don't want to die, I want to get better",
        "I would never hurt anyone",
        "no tengo pensamientos suicidas",
    ],
)
def test_negated_thoughts_are_not_flagged(text):
    assert not assess_risk(text).is_risk


@pytest.mark.parametrize(
    "text, category",
    [
        ("I'm not going to wait, I have the pills", "suicide_plan"),
        ("I don't want to live", "suicidal_thoughts"),
        ("I'm not suicidal. I want to die", "suicidal_thoughts"),
        ("I don't know, I want to die", "suicidal_thoughts"),
        ("no plan, but I have a gun for it", "suicide_plan"),
        ("I never attempted suicide", "past_attempt"),
        ("ya no quiero vivir", "suicidal_thoughts"),
    ],
)
def test_negation_never_hides_means_attempts_or_a_negation_that_is_the_risk(text, category):
    result = assess_risk(text)
    assert result.is_risk and category in result.categories


@pytest.mark.parametrize(
    "text",
    [
        "I feel hopeless sometimes",  # PHQ-9 territory (documented in the lexicon)
        "panic attacks make me feel like I'm dying",  # fear of dying, a panic symptom (documented)
        "can ketamine interact with my lithium",
        "is ketamine addictive",
        "how much does a dose cost",
        "what dose of ketamine do you use",
        "Can you overdose on ketamine?",
        "my father died last year",
        "my friend died by suicide",
        "I was assaulted years ago",
        "combat veteran with nightmares",
        "my dad hit me when I was a kid",
        "intrusive thoughts about hurting my baby scare me",
        "I want to take my life back",
        "I have a payment plan question",
        "me corto el pelo mañana",
        "no estoy seguro si califico",
        "¿qué sucede después?",
        # how visitors stop the questionnaire (the crisis follow-up itself offers "Keep going")
        "I don't want to continue",
        "I don't want to keep going with the questions",
    ],
)
def test_domain_look_alikes_do_not_match(text):
    assert not assess_risk(text).is_risk


def test_feel_like_dying_as_a_wish_is_flagged_unlike_fear_of_dying():
    assert assess_risk("I feel like dying").is_risk
    assert not assess_risk("I feel like I'm dying").is_risk


@pytest.mark.parametrize(
    "text",
    ["I WANT TO KILL MYSELF", "i wanna dieeee", "i want 2 die", "suicidel", "k1ll mys3lf", "I’m gonna unalive myself"],
)
def test_registers_caps_typos_slang(text):
    assert assess_risk(text).is_risk


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None, 12, b"I want to die", ["I want to die"]])
def test_empty_or_non_text_is_no_risk(text):
    assert assess_risk(text) == RiskAssessment(False, (), None, "en")


def test_long_input_is_capped(monkeypatch):
    long_benign = "I have questions about the clinic and the cost of treatment. " * 20000
    seen_lengths: list[int] = []
    real_normalize = detector.normalize

    def recording_normalize(text: str) -> str:
        seen_lengths.append(len(text))
        return real_normalize(text)

    monkeypatch.setattr(detector, "normalize", recording_normalize)
    assert not assess_risk(long_benign).is_risk
    # bounded work: only the first MAX_CHARS characters are read, however long the message
    # (the per-message cost is measured in the `make eval` report, not asserted here)
    assert seen_lengths and max(seen_lengths) <= detector.MAX_CHARS
    # risk within the first 5,000 characters is found even in a huge message
    assert assess_risk("I want to die. " + long_benign).is_risk
    # beyond the cap the detector does not look (bounded work); documented in MAX_CHARS
    assert not assess_risk("x" * (detector.MAX_CHARS + 10) + " I want to die").is_risk


def test_never_logs_the_message(caplog):
    caplog.set_level(logging.DEBUG)
    assess_risk("I want to die secretword123")
    assess_risk("secretword456", lexicon="not a lexicon")  # internal fault path
    assert "secretword" not in caplog.text


def test_internal_fault_fails_to_no_risk_without_raising(caplog):
    caplog.set_level(logging.ERROR)
    assert assess_risk("I want to die", lexicon=object()) == RiskAssessment(False, (), None, "en")
    assert "risk detector failed" in caplog.text


def test_most_severe():
    assert most_severe(["moderate", "imminent", "high"]) == "imminent"
    assert most_severe(["moderate", "high"]) == "high"
    assert most_severe([]) is None
    assert most_severe(["bogus"]) is None


def test_default_lexicon_path_is_repo_data_file():
    assert Path(__file__).resolve().parents[3] / "data" / "clinic" / "risk_lexicon.yml" == DEFAULT_LEXICON_PATH


def test_lexicon_override_by_argument(tmp_path):
    path = tmp_path / "lexicon.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "macros": {"W": "(?:wobble|wibble)"},
                "categories": {"self_harm": {"severity": "moderate", "en": {"patterns": [r"\b<<W>>\b"]}}},
            }
        )
    )
    lexicon = load_lexicon(path)
    assert assess_risk("I wibble", lexicon=lexicon).categories == ("self_harm",)
    assert not assess_risk("I want to die", lexicon=lexicon).is_risk
    assert detector.get_lexicon(path) is detector.get_lexicon(path)  # loaded once


@pytest.mark.parametrize(
    "document, message",
    [
        ([], "categories"),
        ({"categories": {"made_up": {"severity": "high"}}}, "unknown category"),
        ({"categories": {"self_harm": {"severity": "severe"}}}, "severity"),
        (
            {"categories": {"self_harm": {"severity": "high", "en": {"patterns": ["(unclosed"]}}}},
            "self_harm.en.patterns[0]",
        ),
        ({"categories": {"self_harm": {"severity": "high", "en": {"patterns": ["<<NOPE>>"]}}}}, "unknown macro"),
        ({"categories": {"self_harm": {"severity": "high", "en": {"patterns": [""]}}}}, "non-empty"),
        ({"categories": {"self_harm": {"severity": "high", "en": {"patterns": "cut"}}}}, "must be a list"),
        ({"categories": {}, "benign_phrases": "x"}, "benign_phrases must be a list"),
        ({"categories": {}, "negation": ["x"]}, "negation must be a mapping"),
    ],
)
def test_bad_lexicon_gives_a_clear_error(document, message):
    with pytest.raises(LexiconError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_lexicon(document)


def test_missing_lexicon_file_gives_a_clear_error(tmp_path):
    with pytest.raises(LexiconError, match="cannot read risk lexicon"):
        load_lexicon(tmp_path / "missing.yml")


def test_shipped_lexicon_has_every_category_with_notes():
    raw = yaml.safe_load(DEFAULT_LEXICON_PATH.read_text(encoding="utf-8"))
    assert set(raw["categories"]) == set(CATEGORY_ORDER)
    for category, spec in raw["categories"].items():
        assert spec.get("notes"), category
        assert spec.get("en") and spec.get("es"), category


# Issue 8 ("False alarms cost trust"): ordinary first messages of the clinic's target visitors. The two the
# issue quotes and phrasings written for this test (not from any evaluation set) match no risk pattern, so at
# most the model flags them, and then the visitor is asked first (bot/safety/signals.py level `check`).
TARGET_VISITOR_FIRST_MESSAGES = [
    "hey, my therapist said ketamine might help my PTSD. I'm a vet, 41",
    "I want to try something new because therapy isn't enough",
    "I was an infantry gunner in Afghanistan, now I have PTSD",
    "I served as a combat medic and saw a lot of death",
    "my best friend from the army died by suicide last year and it hit me hard",
    "I work in law enforcement and carry a firearm for work",
    "I'm overwhelmed with work and kids",
    "I've had enough of feeling this way",
    "I'm at the end of my rope with these side effects",
    "I got my flu shot last week, is that ok before an infusion",
    "I'm in recovery, 3 years clean from opioids",
    "I was hospitalized for depression 5 years ago",
    "I'm not suicidal, I just want my PTSD to get better",
    "I want to end this cycle of depression",
    "ya no aguanto los efectos secundarios",
]


@pytest.mark.parametrize("text", TARGET_VISITOR_FIRST_MESSAGES)
def test_target_visitors_ordinary_first_messages_do_not_match(text):
    assert assess_risk(text) == detector.NO_RISK

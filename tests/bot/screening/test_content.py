"""The clinic content itself: complete, cited, and written at an 8th-grade reading level or below."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.clinic import load_clinic_profile
from bot.readability import flesch_kincaid_grade
from bot.screening.content import ContentError, content, load_content

MAX_GRADE = 8.0
DOMAIN = Path(__file__).resolve().parents[3] / "domain.yml"
# Texts allowed above the limit, each with the reason. Keep this list short and reviewed.
EXEMPT: dict = {}


def domain_responses():
    """(name, text) for every variation of the plain responses in domain.yml (utter_iamabot)."""
    responses = (yaml.safe_load(DOMAIN.read_text(encoding="utf-8")) or {}).get("responses") or {}
    return [
        (f"domain.{name}{i}", v["text"]) for name, variations in responses.items() for i, v in enumerate(variations)
    ]


def own_texts():
    """(name, text) for every non-instrument text the bot sends from data/clinic, and the domain's responses."""
    c = content()
    profile = load_clinic_profile()
    texts = []
    for q in c.questions.values():
        if q.validated_wording:
            continue  # published instrument wording is exempt
        texts.append((f"{q.id}.text", q.text))
        texts.append((f"{q.id}.guidance", q.guidance))
        texts.extend((f"{q.id}.preface{i}", t) for i, t in enumerate(q.preface))
    for key, text in c.eligibility["outcome_messages"].items():
        texts.append((f"outcome.{key}", " ".join(text.split())))
    texts.extend((f"faq.{k}", v) for k, v in profile.faq.items())
    texts.extend((f"messages.{k}", v) for k, v in profile.messages.items())
    texts.extend((f"resources.minors{i}", t) for i, t in enumerate(profile.minor_resources))
    texts.append(("resources.crisis", str(profile.resources["crisis"])))
    texts.extend(domain_responses())
    return texts


@pytest.mark.parametrize("name,text", own_texts(), ids=[n for n, _ in own_texts()])
def test_reading_level_at_most_grade_8(name, text):
    assert text.strip(), f"{name} is empty"
    if name in EXEMPT:
        pytest.skip(EXEMPT[name])
    grade = flesch_kincaid_grade(text)
    assert grade <= MAX_GRADE, f"{name} reads at grade {grade}: {text}"


def test_every_text_the_bot_words_itself_is_checked():
    # Not a count: each kind of text the bot sends in its own words is in the reading-level check above, and
    # only published instrument wording is left out.
    c, profile = content(), load_clinic_profile()
    names = {name for name, _ in own_texts()}
    own_questions = [q for q in c.questions.values() if not q.validated_wording]
    expected = {f"{q.id}.{part}" for q in own_questions for part in ("text", "guidance")}
    expected |= {f"{q.id}.preface{i}" for q in own_questions for i in range(len(q.preface))}
    expected |= {f"outcome.{key}" for key in c.eligibility["outcome_messages"]}
    expected |= {f"faq.{key}" for key in profile.faq} | {f"messages.{key}" for key in profile.messages}
    expected |= {name for name, _ in domain_responses()}
    assert own_questions and profile.faq and profile.messages and domain_responses()
    assert expected <= names, sorted(expected - names)
    validated = {q.id for q in c.questions.values() if q.validated_wording}
    assert not {name.split(".")[0] for name in names} & validated


def test_instrument_items_are_marked_validated():
    c = content()
    for instrument in c.instruments:
        for qid in instrument.item_ids:
            assert c.questions[qid].validated_wording
            assert c.questions[qid].section == instrument.id


WHOLE_ITEM = {
    # Each item carries its instrument's stem, so it says what it asks whenever it is asked (also again after a
    # clinic question or a crisis check, when no preface is sent).
    "gad7": ("Over the last 2 weeks, how often have you been bothered by ", "?"),
    "phq9": ("Over the last 2 weeks, how often have you been bothered by ", "?"),
    "pcptsd5": ("In the past month, have you ", "?"),  # Prins 2016
    "oci4": ("I ", " How much has this distressed or bothered you during the past month?"),  # Foa 2002
}


def test_every_instrument_item_is_a_whole_question():
    c = content()
    assert {i.id for i in c.instruments} == set(WHOLE_ITEM)
    for instrument in c.instruments:
        start, end = WHOLE_ITEM[instrument.id]
        for qid in instrument.item_ids:
            text = c.questions[qid].text
            assert text.startswith(start) and text.endswith(end), (qid, text)
            assert "..." not in text and "  " not in text
        assert all(c.questions[q].preface == () for q in instrument.item_ids[1:])
    assert c.questions["gad7_1"].text == (
        "Over the last 2 weeks, how often have you been bothered by feeling nervous, anxious, or on edge?"
    )
    assert c.questions["pcptsd5_2"].text.startswith("In the past month, have you tried hard not to think about")
    assert c.questions["oci4_1"].preface == (
        "The following statements refer to experiences that many people have in their everyday lives.",
    )


def test_frequency_options():
    titles = [(o.title, o.score) for o in content().questions["phq9_1"].options]
    assert titles == [("Not at all", 0), ("Several days", 1), ("More than half the days", 2), ("Nearly every day", 3)]
    oci = [(o.title, o.score) for o in content().questions["oci4_1"].options]
    assert oci == [("Not at all", 0), ("A little", 1), ("Moderately", 2), ("A lot", 3), ("Extremely", 4)]


def test_consent_preface_says_who_and_where_to_get_help():
    preface = " ".join(content().questions["consent"].preface)
    assert "Haven Ketamine Clinic" in preface and "not a doctor" in preface
    assert "not a diagnosis or medical advice" in preface
    assert "911" in preface and "988" in preface


def test_all_choice_questions_have_guidance_and_unique_values():
    for q in content().questions.values():
        assert q.guidance, q.id
        if q.kind == "choice":
            values = [o.value for o in q.options]
            assert len(values) == len(set(values)), q.id


def test_every_contraindication_question_offers_not_sure():
    c = content()
    for rule in c.contraindications:
        assert [o.value for o in c.questions[rule.id].options] == ["yes", "no", "not_sure"]
        assert rule.source


def test_unquoted_yaml_booleans_are_refused(tmp_path: Path):
    source = Path(__file__).resolve().parents[3] / "data" / "clinic"
    for name in ("instruments.yml", "contraindications.yml", "eligibility.yml"):
        (tmp_path / name).write_text((source / name).read_text())
    flow = yaml.safe_load((source / "flow.yml").read_text())
    flow["questions"]["consent"]["options"] = [{"value": "yes", "title": "Yes", "synonyms": [True]}]
    (tmp_path / "flow.yml").write_text(yaml.safe_dump(flow))
    with pytest.raises(ContentError):
        load_content(tmp_path)


def test_missing_content_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ContentError):
        load_content(tmp_path)

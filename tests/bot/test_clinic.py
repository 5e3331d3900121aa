"""The clinic profile as the bot uses it: every topic it can be asked has an answer, texts carry the clinic's
own facts where the profile puts them, templates format with the values the code passes, gaps fail loudly."""

from __future__ import annotations

import ast
import os
import re
import string
from pathlib import Path

import pytest
import yaml

from bot.clinic import MESSAGE_KEYS, ClinicProfileError, faq_answer, load_clinic_profile
from bot.screening.answers import normalise_us_phone

ROOT = Path(__file__).resolve().parents[2]
# The profile load_clinic_profile() reads by default (CLINIC_PROFILE, else the shipped one).
PROFILE_PATH = Path(os.environ.get("CLINIC_PROFILE", "").strip() or ROOT / "data" / "clinic" / "clinic_profile.yml")
# The clinic facts a profile text may name by placeholder, and the profile field each one comes from.
FACT_FIELDS = {"clinic_name": "name", "phone": "phone", "address": "address", "hours": "hours"}
# A clinic question's intent names its topic: the retrieval intent "faq/cost" (or the older "ask_cost").
FAQ_INTENT = re.compile(r"^(?:faq/(?:ask_)?|ask_)(?P<topic>\w+)$")


def raw_profile() -> dict:
    return yaml.safe_load(PROFILE_PATH.read_text(encoding="utf-8"))


def write_profile(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "clinic_profile.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def askable_faq_topics() -> set[str]:
    """The FAQ topics a visitor can ask about: the clinic-question intents in the NLU training data."""
    topics = set()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            match = FAQ_INTENT.match(str(block.get("intent", "")))
            if match:
                topics.add(match["topic"])
    return topics


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def formatted_message_calls() -> list[tuple[str, frozenset[str], str]]:
    """(message key, keyword names, where) for every `message("key", name=...)` call in actions/: the values the
    code fills into a message template. Keys sent without values are sent as written."""
    calls = []
    for path in sorted((ROOT / "actions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.keywords:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name != "message":
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert node.args and isinstance(node.args[0], ast.Constant), f"{where}: give the message key literally"
            calls.append((str(node.args[0].value), frozenset(k.arg for k in node.keywords if k.arg), where))
    return calls


def test_profile_facts_are_usable():
    profile = load_clinic_profile()
    assert profile.name and profile.address and profile.hours
    assert normalise_us_phone(profile.phone) == profile.phone_e164  # the shown and the dialled number agree


def test_every_faq_topic_the_bot_can_be_asked_has_its_own_answer():
    profile = load_clinic_profile()
    topics = askable_faq_topics()
    assert topics, "no clinic-question intents found in data/nlu"
    for topic in sorted(topics):
        answer = faq_answer(topic)
        assert answer and answer != profile.messages["faq_unknown"], f"{topic}: no answer in the clinic profile"
        assert not placeholders(answer) and "{" not in answer, topic


def test_every_faq_answer_can_be_asked():
    # An answer without an intent is never shown: the clinic would review text no visitor sees.
    assert set(load_clinic_profile().faq) <= askable_faq_topics()


def test_faq_topic_lookup_ignores_case_and_spaces():
    profile = load_clinic_profile()
    topic = sorted(askable_faq_topics())[0]
    assert faq_answer(f"  {topic.upper()} ") == profile.faq[topic]


def test_unknown_topic_gets_call_us_not_an_error():
    profile = load_clinic_profile()
    for topic in ("parking?", "", None, 3):
        answer = faq_answer(topic)  # type: ignore[arg-type]
        assert answer == profile.messages["faq_unknown"]
        assert profile.phone in answer  # never a dead end: the visitor is told how to reach the clinic


def test_texts_carry_the_clinic_facts_where_the_profile_names_them():
    data, profile = raw_profile(), load_clinic_profile()
    for section, loaded in (("faq", profile.faq), ("messages", profile.messages)):
        for key, raw_text in data[section].items():
            for placeholder, field in FACT_FIELDS.items():
                if "{" + placeholder + "}" in raw_text:
                    assert " ".join(str(data[field]).split()) in loaded[key], f"{section}.{key}: {placeholder}"
            assert not placeholders(loaded[key]) & set(FACT_FIELDS), f"{section}.{key} left a fact unfilled"


def test_another_clinic_gets_its_own_facts_in_every_text(tmp_path: Path):
    data, ours = raw_profile(), load_clinic_profile()
    raw_texts = {
        **{f"faq.{k}": v for k, v in data["faq"].items()},
        **{f"messages.{k}": v for k, v in data["messages"].items()},
    }
    data.update(
        name="Other Clinic",
        phone="(213) 555-0199",
        phone_e164="+12135550199",
        address="1 Main St, Springfield",
        hours="Monday 8 am to noon",
    )
    other = load_clinic_profile(write_profile(tmp_path, data))
    texts = {**{f"faq.{k}": v for k, v in other.faq.items()}, **{f"messages.{k}": v for k, v in other.messages.items()}}
    for name, text in texts.items():
        # no text hard-codes our clinic's facts: a clinic changes them in one place
        assert ours.phone not in text and ours.name not in text and ours.address not in text, name
        for placeholder, field in FACT_FIELDS.items():
            if "{" + placeholder + "}" in raw_texts[name]:
                assert data[field] in text, f"{name}: {placeholder}"


def test_every_message_template_formats_with_the_values_the_code_passes():
    profile = load_clinic_profile()
    calls = formatted_message_calls()
    assert calls, "no message(...) call with values found in actions/"
    formatted = set()
    for key, names, where in calls:
        assert key in MESSAGE_KEYS, f"{where}: {key!r} is not a required message, so a profile may lack it"
        template = profile.messages[key]
        assert placeholders(template) <= names, f"{where}: {key} needs {placeholders(template) - names}"
        values = {name: f"<{name}-value>" for name in names}
        text = template.format(**values)
        assert "{" not in text and all(value in text for value in values.values()), f"{where}: {text}"
        formatted.add(key)
    for key, text in profile.messages.items():
        if key not in formatted:  # sent as written: a placeholder would reach the visitor raw
            assert not placeholders(text) and "{" not in text, key


def test_required_texts_are_present():
    profile = load_clinic_profile()
    for key in MESSAGE_KEYS:
        assert profile.messages[key].strip(), key


def test_safety_texts_point_to_help():
    # Product requirements any clinic's profile must meet, not wording: a minor is sent to crisis help, and the
    # bot says it is not a clinician.
    profile = load_clinic_profile()
    assert "988" in profile.messages["minor"]
    assert any("988" in r for r in profile.minor_resources)
    assert "not a doctor" in faq_answer("about_bot")


def test_medical_faq_claims_cite_sources():
    sources = load_clinic_profile().sources
    for topic in ("infusion_experience", "side_effects", "sessions", "safety", "what_is_ketamine"):
        assert sources.get(topic), topic


@pytest.mark.parametrize("key", ["minor", "faq_unknown"])
def test_a_missing_message_fails_loudly_at_load(tmp_path: Path, key: str):
    data = raw_profile()
    del data["messages"][key]
    with pytest.raises(ClinicProfileError, match=key):
        load_clinic_profile(write_profile(tmp_path, data))


def test_an_empty_faq_answer_fails_loudly_at_load(tmp_path: Path):
    # (A topic missing from the profile altogether is caught above: the bot can be asked it, there is no answer.)
    data, topic = raw_profile(), min(askable_faq_topics())
    data["faq"][topic] = ""
    with pytest.raises(ClinicProfileError, match=topic):
        load_clinic_profile(write_profile(tmp_path, data))


@pytest.mark.parametrize("field", sorted(set(FACT_FIELDS.values()) | {"phone_e164"}))
def test_a_missing_fact_fails_loudly_at_load(tmp_path: Path, field: str):
    data = raw_profile()
    del data[field]
    with pytest.raises(ClinicProfileError, match=field):
        load_clinic_profile(write_profile(tmp_path, data))


def test_profile_errors(tmp_path: Path):
    with pytest.raises(ClinicProfileError):
        load_clinic_profile(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: X\nphone: '1'\n")
    with pytest.raises(ClinicProfileError):
        load_clinic_profile(bad)


def test_env_override(tmp_path: Path, monkeypatch):
    data = raw_profile()
    data["name"] = "Other Clinic"
    monkeypatch.setenv("CLINIC_PROFILE", str(write_profile(tmp_path, data)))
    assert load_clinic_profile().name == "Other Clinic"

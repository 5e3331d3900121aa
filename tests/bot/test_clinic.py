from __future__ import annotations

from pathlib import Path

import pytest

from bot.clinic import FAQ_TOPICS, MESSAGE_KEYS, ClinicProfileError, faq_answer, load_clinic_profile
from bot.screening.answers import normalise_us_phone


def test_profile_basics():
    profile = load_clinic_profile()
    assert profile.name == "Haven Ketamine Clinic"
    assert "Ventura Blvd" in profile.address and "Tarzana" in profile.address
    assert normalise_us_phone(profile.phone) == profile.phone_e164 == "+18185550134"
    assert profile.hours


def test_all_faq_topics_present():
    assert FAQ_TOPICS == ("cost", "insurance", "location", "hours", "infusion_experience", "side_effects",
                          "sessions", "safety", "what_is_ketamine", "about_bot", "medications")
    for topic in FAQ_TOPICS:
        answer = faq_answer(topic)
        assert answer and "{" not in answer, topic


def test_medical_faq_claims_cite_sources():
    sources = load_clinic_profile().sources
    for topic in ("infusion_experience", "side_effects", "sessions", "safety", "what_is_ketamine"):
        assert sources.get(topic), topic


def test_faq_content():
    assert "40 to 60 minutes" in faq_answer("infusion_experience")
    assert "six" in faq_answer("sessions")
    assert "(818) 555-0134" in faq_answer("hours")
    assert "superbill" in faq_answer("insurance")
    assert "0.5 mg" in faq_answer("safety")
    assert "not a doctor" in faq_answer("about_bot")


def test_unknown_topic_gets_call_us_not_an_error():
    for topic in ("parking?", "", None, 3):
        assert "(818) 555-0134" in faq_answer(topic)  # type: ignore[arg-type]


def test_messages_present_and_filled():
    profile = load_clinic_profile()
    for key in MESSAGE_KEYS:
        assert profile.messages[key], key
    assert "{first_name}" in profile.messages["finished_with_lead"]
    assert "(818) 555-0134" in profile.messages["finished_with_lead"]
    assert "988" in profile.messages["minor"] and "school counselor" in profile.messages["minor"]
    assert "adults" in profile.messages["minor"]
    assert "(818) 555-0134" in profile.messages["talk_to_human"]
    assert profile.messages["finished_with_lead"].replace("{first_name}", "Ana").startswith("Thank you, Ana.")
    assert any("988" in r for r in profile.minor_resources)
    for key, text in profile.messages.items():
        assert "{clinic_name}" not in text and "{phone}" not in text, key


def test_profile_errors(tmp_path: Path):
    with pytest.raises(ClinicProfileError):
        load_clinic_profile(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: X\nphone: '1'\n")
    with pytest.raises(ClinicProfileError):
        load_clinic_profile(bad)


def test_env_override(tmp_path: Path, monkeypatch):
    source = Path(__file__).resolve().parents[2] / "data" / "clinic" / "clinic_profile.yml"
    copy = tmp_path / "profile.yml"
    copy.write_text(source.read_text().replace("name: Haven Ketamine Clinic", "name: Other Clinic"))
    monkeypatch.setenv("CLINIC_PROFILE", str(copy))
    assert load_clinic_profile().name == "Other Clinic"

from __future__ import annotations

import json

import pytest

from bot.screening.lead import NoConsentToContact, build_lead, contact_summary


def test_lead_shape(run_screening):
    answers = run_screening(
        {
            "contact_email": "skip",
            "contact_method": "Text",
            "contact_best_time": "evening",
            "tx_antidepressants": "2 or more",
            **{f"phq9_{i}": "Nearly every day" for i in range(1, 9)},  # PHQ-9 24, item 9 "Not at all"
        }
    )
    lead = build_lead(answers)
    assert set(lead) == {
        "outcome",
        "concern",
        "age",
        "contact",
        "scores",
        "answers",
        "contraindications",
        "reasons",
        "crisis",
    }
    assert lead["outcome"] == "qualified"
    assert lead["concern"] == "depression" and lead["age"] == 40
    assert lead["contact"] == {
        "first_name": "Ana",
        "phone": "+18185550134",
        "email": None,
        "preferred_method": "text",
        "best_time": "evening",
        "consent_to_contact": True,
    }
    assert lead["scores"] == {"gad7": 0, "phq9": 24}
    assert lead["crisis"] == {"flagged": False, "categories": []}
    assert [a["id"] for a in lead["answers"]][:3] == ["consent", "age", "concern"]
    for entry in lead["answers"]:
        assert set(entry) == {"id", "question", "answer", "value"} and entry["question"]
    by_id = {a["id"]: a for a in lead["answers"]}
    assert by_id["gad7_1"]["answer"] == "Not at all" and by_id["gad7_1"]["value"] == "not_at_all"
    assert by_id["contact_phone"]["answer"] == "(818) 555-0134"
    assert any(r["id"] == "treatment_resistant_history" for r in lead["reasons"])
    json.dumps(lead)  # JSON-serialisable as handed off


def test_lead_with_crisis_is_needs_review(run_screening):
    answers = run_screening({"tx_antidepressants": "2 or more"})
    lead = build_lead(answers, crisis={"flagged": True, "categories": ["self_harm"]})
    assert lead["outcome"] == "needs_review"
    assert lead["crisis"] == {"flagged": True, "categories": ["self_harm"]}
    assert any(r["id"] == "crisis_flag" for r in lead["reasons"])


def test_no_lead_without_consent(run_screening):
    answers = run_screening({"contact_consent": "No"})
    with pytest.raises(NoConsentToContact):
        build_lead(answers)
    with pytest.raises(ValueError):
        build_lead({})


def test_lead_ignores_forged_values(run_screening):
    answers = run_screening()
    forged = dict(answers, contact_phone="javascript:alert(1)", ci_pregnancy="definitely", extra="x")
    lead = build_lead(forged)
    assert lead["contact"]["phone"] is None
    assert all(a["id"] != "extra" for a in lead["answers"])


def test_not_eligible_lead_after_optin(run_screening):
    lead = build_lead(run_screening({"ci_ketamine_reaction": "yes", "contact_optin": "yes"}))
    assert lead["outcome"] == "not_eligible"
    assert lead["reasons"][0]["id"] == "absolute_ci_ketamine_reaction"


def test_contact_summary_partial():
    assert contact_summary({}) == {}
    assert contact_summary({"contact_first_name": "Ana", "contact_phone": "+18185550134"}) == {
        "first_name": "Ana",
        "phone": "+18185550134",
    }
    assert contact_summary({"contact_phone": "not a phone"}) == {}
    assert contact_summary(None) == {}

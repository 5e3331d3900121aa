from __future__ import annotations

import pytest

from bot.screening.content import content
from bot.screening.outcome import decide_outcome

GAD = [f"gad7_{i}" for i in range(1, 8)]
PHQ = [f"phq9_{i}" for i in range(1, 10)]
CI = [rule.id for rule in content().contraindications]
CHECKLIST = content().checklist_id
CHECKLIST_RULES = content().checklist_rules
HIGH_GAD = dict.fromkeys(GAD, "nearly_every_day")  # GAD-7 21: at or above the cut-off of 10


def base(**overrides):
    """Complete depression-path answers: all symptoms 0, no contraindications, 1 failed antidepressant."""
    answers = {
        "consent": "yes",
        "concern": "depression",
        "age": 40,
        "tx_antidepressants": "1",
        "tx_therapy": "yes",
        "tx_current_meds": "none",
    }
    answers.update(dict.fromkeys(GAD + PHQ, "not_at_all"))
    answers.update(dict.fromkeys(CI, "no"))
    answers[CHECKLIST] = ["none"]
    answers.update(overrides)
    return answers


def with_score(prefix, count, total):
    """Item answers for an instrument adding up to `total` (items scored 0-3)."""
    values = {}
    for i in range(1, count + 1):
        item = min(3, total)
        total -= item
        values[f"{prefix}_{i}"] = ["not_at_all", "several_days", "more_than_half", "nearly_every_day"][item]
    return values


def ids(result):
    return [r["id"] for r in result.reasons]


def test_below_cutoffs_goes_to_review_never_ruled_out():
    result = decide_outcome(base())
    assert result.outcome == "needs_review"
    assert ids(result) == ["below_cutoffs"]
    assert result.scores == {"gad7": 0, "phq9": 0}


@pytest.mark.parametrize("prefix,count", [("gad7", 7), ("phq9", 8)])
def test_score_boundary_at_cutoff_10(prefix, count):
    # PHQ-9 item 9 is left at 0 so the risk rule does not interfere.
    assert decide_outcome(base(**with_score(prefix, count, 9))).outcome == "needs_review"
    result = decide_outcome(base(**with_score(prefix, count, 10)))
    assert result.outcome == "qualified"
    assert f"{prefix}_at_or_above_cutoff" in ids(result)
    assert result.scores[prefix] == 10


def test_pcptsd5_boundary_at_3():
    two = {
        "concern": "ptsd",
        "pcptsd5_trauma": "yes",
        "pcptsd5_1": "yes",
        "pcptsd5_2": "yes",
        "pcptsd5_3": "no",
        "pcptsd5_4": "no",
        "pcptsd5_5": "no",
    }
    assert decide_outcome(base(**two)).outcome == "needs_review"
    three = dict(two, pcptsd5_3="yes")
    result = decide_outcome(base(**three))
    assert result.outcome == "qualified" and result.scores["pcptsd5"] == 3


def test_oci4_boundary_at_7():
    six = {
        "concern": "ocd",
        "oci4_1": "extremely",
        "oci4_2": "moderately",
        "oci4_3": "not_at_all",
        "oci4_4": "not_at_all",
    }
    assert decide_outcome(base(**six)).scores["oci4"] == 6
    assert decide_outcome(base(**six)).outcome == "needs_review"
    seven = dict(six, oci4_3="a_little")
    assert decide_outcome(base(**seven)).outcome == "qualified"


def test_treatment_resistant_history_alone_is_not_qualified():
    # Scores below the cut-offs with 2 or more failed antidepressants: TRD needs a current episode as well,
    # so a clinician decides (issue 14). It used to be `qualified`.
    result = decide_outcome(base(tx_antidepressants="2_or_more"))
    assert result.outcome == "needs_review"
    assert ids(result) == ["treatment_resistant_history", "below_cutoffs"]
    assert "2 or more" in result.reasons[0]["text"]
    assert decide_outcome(base(tx_antidepressants="not_sure")).outcome == "needs_review"


def test_treatment_resistant_history_with_a_score_at_the_cut_off_is_noted():
    result = decide_outcome(base(tx_antidepressants="2_or_more", **HIGH_GAD))
    assert result.outcome == "qualified"
    assert ids(result) == ["gad7_at_or_above_cutoff", "treatment_resistant_history"]


@pytest.mark.parametrize("rule", content().contraindications, ids=lambda r: r.id)
def test_each_contraindication_yes(rule):
    result = decide_outcome(base(**HIGH_GAD, **{rule.id: "yes"}))
    expected = "not_eligible" if rule.cls == "absolute" else "needs_review"
    assert result.outcome == expected
    assert f"{rule.cls}_{rule.id}" in ids(result)


@pytest.mark.parametrize("rule", CHECKLIST_RULES, ids=lambda r: r.id)
def test_each_checklist_item_picked_needs_review(rule):
    result = decide_outcome(base(**HIGH_GAD, **{CHECKLIST: [rule.id]}))
    assert result.outcome == "needs_review"
    assert ids(result)[0] == f"relative_{rule.id}"
    entry = next(c for c in result.contraindications if c["id"] == rule.id)
    assert entry == {"id": rule.id, "label": rule.label, "answer": "yes", "class": "relative", "source": rule.source}
    others = [c for c in result.contraindications if c["id"] in {r.id for r in CHECKLIST_RULES} - {rule.id}]
    assert others and all(c["answer"] == "no" for c in others)


def test_checklist_none_of_these_changes_nothing_and_not_sure_is_one_review_reason():
    assert decide_outcome(base(**HIGH_GAD)).outcome == "qualified"
    result = decide_outcome(base(**HIGH_GAD, **{CHECKLIST: ["not_sure"]}))
    assert result.outcome == "needs_review"
    assert [r for r in ids(result) if r.startswith("not_sure_")] == [f"not_sure_{CHECKLIST}"]
    checklist_entries = [c for c in result.contraindications if c["id"] in {r.id for r in CHECKLIST_RULES}]
    assert {c["answer"] for c in checklist_entries} == {"not_sure"}


@pytest.mark.parametrize(
    "answers,expected",
    [
        # Lifetime schizophrenia or psychosis now: absolute. Past-only experiences: a clinician reviews.
        ({"ci_psychosis": "yes"}, "not_eligible"),
        ({CHECKLIST: ["ci_past_psychosis"]}, "needs_review"),
        ({"ci_mania": "yes"}, "not_eligible"),
        ({CHECKLIST: ["ci_bipolar"]}, "needs_review"),
        ({CHECKLIST: ["ci_family_schizophrenia"]}, "needs_review"),
        # Recent or unstable heart disease, any aneurysm / AVM / brain bleed: absolute. Older or controlled: review.
        ({"ci_heart_recent": "yes"}, "not_eligible"),
        ({"ci_heart_unstable": "yes"}, "not_eligible"),
        ({"ci_aneurysm": "yes"}, "not_eligible"),
        ({CHECKLIST: ["ci_heart_controlled"]}, "needs_review"),
        # Pregnant or breastfeeding: absolute; trying: review.
        ({"ci_pregnancy": "yes"}, "not_eligible"),
        ({CHECKLIST: ["ci_trying_pregnancy"]}, "needs_review"),
        ({"ci_ketamine_reaction": "yes"}, "not_eligible"),
        ({CHECKLIST: ["ci_dissociative_use"]}, "needs_review"),
        ({CHECKLIST: ["ci_family_schizophrenia", "ci_bladder"]}, "needs_review"),
    ],
)
def test_lifetime_and_current_are_split_as_the_sources_do(answers, expected):
    assert decide_outcome(base(**HIGH_GAD, **answers)).outcome == expected


@pytest.mark.parametrize("rule_id", CI)
def test_each_contraindication_not_sure_needs_review(rule_id):
    result = decide_outcome(base(**HIGH_GAD, **{rule_id: "not_sure"}))
    assert result.outcome == "needs_review"
    assert f"not_sure_{rule_id}" in ids(result)


def test_label_derived_split():
    classes = {rule.id: rule.cls for rule in content().contraindications}
    assert {k for k, v in classes.items() if v == "absolute"} == {
        "ci_pregnancy",
        "ci_psychosis",
        "ci_mania",
        "ci_hypertension",
        "ci_heart_recent",
        "ci_heart_unstable",
        "ci_aneurysm",
        "ci_ketamine_reaction",
    }
    # Each absolute item is a plain question of its own; the checklist holds review items only.
    assert all(rule.cls == "relative" for rule in CHECKLIST_RULES)
    assert all(rule.source for rule in (*content().contraindications, *CHECKLIST_RULES))


def test_absolute_beats_everything():
    answers = base(**HIGH_GAD, ci_pregnancy="yes", ci_mania="not_sure", **{CHECKLIST: ["ci_liver"]})
    result = decide_outcome(answers, crisis_flag=True)
    assert result.outcome == "not_eligible"
    assert ids(result)[:1] == ["absolute_ci_pregnancy"]
    assert {"relative_ci_liver", "not_sure_ci_mania", "crisis_flag"} <= set(ids(result))


def test_crisis_flag_needs_review_even_when_scores_qualify():
    answers = base(**HIGH_GAD)
    assert decide_outcome(answers).outcome == "qualified"
    result = decide_outcome(answers, crisis_flag=True)
    assert result.outcome == "needs_review" and "crisis_flag" in ids(result)


def test_phq9_item9_positive_needs_review():
    result = decide_outcome(base(**HIGH_GAD, phq9_9="several_days"))
    assert result.outcome == "needs_review"
    assert "phq9_item9_positive" in ids(result)


@pytest.mark.parametrize("age,expected", [(64, "qualified"), (65, "needs_review"), (80, "needs_review")])
def test_age_65_is_relative(age, expected):
    result = decide_outcome(base(**HIGH_GAD, age=age))
    assert result.outcome == expected
    older = next(c for c in result.contraindications if c["id"] == "age_65_or_over")
    assert older["answer"] == ("yes" if age >= 65 else "no") and older["class"] == "relative"


@pytest.mark.parametrize(
    "meds,group",
    [
        ("Xanax 0.5mg as needed", "benzodiazepine"),
        ("adderall", "stimulant"),
        ("Lamictal 100", "lamotrigine"),
        ("phenelzine", "MAOI"),
        ("oxycodone after surgery", "opioid"),
    ],
)
def test_interacting_medication_needs_review(meds, group):
    result = decide_outcome(base(**HIGH_GAD, tx_current_meds=meds))
    assert result.outcome == "needs_review"
    item = next(c for c in result.contraindications if c["id"] == "interacting_medication")
    assert item["answer"] == "yes" and group in item["label"]


@pytest.mark.parametrize("meds", ["none", "sertraline 50mg", "vitamin D", "Ativanish"])
def test_other_medication_no_flag(meds):
    assert decide_outcome(base(**HIGH_GAD, tx_current_meds=meds)).outcome == "qualified"


def test_contraindication_entries_have_the_documented_shape():
    result = decide_outcome(base(ci_mania="not_sure"))
    for item in result.contraindications:
        assert set(item) == {"id", "label", "answer", "class", "source"}
        assert item["answer"] in ("yes", "no", "not_sure") and item["class"] in ("absolute", "relative")
    # every question asked + every checklist line + age + medicines
    assert len(result.contraindications) == len(CI) + len(CHECKLIST_RULES) + 2
    assert all(set(r) == {"id", "text"} and r["text"] for r in result.reasons)


def test_forged_values_are_ignored():
    # A slot edited to hold booleans or unknown ids cannot change the outcome.
    forged = base(**{**HIGH_GAD, "gad7_1": 3}, ci_pregnancy=True, made_up="yes")
    result = decide_outcome(forged)
    assert result.outcome == "needs_review"  # gad7_1 forged: GAD-7 is not scored, nothing qualifies
    assert "gad7" not in result.scores and "absolute_ci_pregnancy" not in ids(result)
    # A forged checklist value (an unknown item, not a list) is dropped, never read as None of these.
    for bad in (["ci_made_up"], "none", [], ["none", "ci_liver"], ["ci_liver", "ci_liver"]):
        forged = base(**HIGH_GAD, **{CHECKLIST: bad})
        assert not any(c["id"] == "ci_liver" for c in decide_outcome(forged).contraindications), bad


def test_after_risk_came_up_the_visitor_is_never_told_infusions_may_not_be_right():
    from bot.screening.outcome import outcome_message

    for outcome in ("qualified", "needs_review", "not_eligible"):
        told = outcome_message(outcome, crisis_flag=True)
        assert "right fit" not in told and "988" in told
    assert "right fit" in outcome_message("not_eligible")  # without risk, the outcome's own message


def test_the_thresholds_are_read_from_the_data(tmp_path):
    import shutil

    import yaml

    from bot.screening.content import DEFAULT_CONTENT_DIR, load_content

    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    eligibility = yaml.safe_load((clinic / "eligibility.yml").read_text(encoding="utf-8"))
    eligibility["treatment_resistant_min_failed_antidepressants"] = 3
    (clinic / "eligibility.yml").write_text(yaml.safe_dump(eligibility, sort_keys=False), encoding="utf-8")
    ci = yaml.safe_load((clinic / "contraindications.yml").read_text(encoding="utf-8"))
    ci["derived"]["older_adult"]["min_age"] = 70
    (clinic / "contraindications.yml").write_text(yaml.safe_dump(ci, sort_keys=False), encoding="utf-8")
    data = load_content(clinic)
    answers = base(tx_antidepressants="2_or_more", age=66)
    assert "treatment_resistant_history" in ids(decide_outcome(answers))
    assert "relative_age_65_or_over" in ids(decide_outcome(answers))
    changed = decide_outcome(answers, content=data)
    assert "treatment_resistant_history" not in ids(changed) and "relative_age_65_or_over" not in ids(changed)

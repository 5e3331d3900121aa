from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.screening.content import DEFAULT_CONTENT_DIR, Instrument, ScreeningContent, content, load_content
from bot.screening.outcome import decide_outcome
from bot.screening.scoring import instrument_score, instrument_scores, risk_item_positive

FREQ = ["not_at_all", "several_days", "more_than_half", "nearly_every_day"]
OCI = ["not_at_all", "a_little", "moderately", "a_lot", "extremely"]


def instrument(iid):
    return next(i for i in content().instruments if i.id == iid)


def answers_for(iid, values):
    return dict(zip(instrument(iid).item_ids, values, strict=False))  # fewer values: an unfinished instrument


def test_item_counts_match_published_instruments():
    # A published instrument's name says how many items it has: GAD-7, PHQ-9, PC-PTSD-5, OCI-4.
    for i in content().instruments:
        assert len(i.item_ids) == int(re.search(r"(\d+)$", i.name).group(1)), i.id


@pytest.mark.parametrize("iid,scale,maximum", [("gad7", FREQ, 21), ("phq9", FREQ, 27), ("oci4", OCI, 16)])
def test_range_from_zero_to_maximum(iid, scale, maximum):
    n = len(instrument(iid).item_ids)
    assert instrument_score(instrument(iid), answers_for(iid, [scale[0]] * n)) == 0
    assert instrument_score(instrument(iid), answers_for(iid, [scale[-1]] * n)) == maximum


def test_gad7_sum():
    values = [
        "several_days",
        "more_than_half",
        "nearly_every_day",
        "not_at_all",
        "several_days",
        "several_days",
        "more_than_half",
    ]
    assert instrument_score(instrument("gad7"), answers_for("gad7", values)) == 1 + 2 + 3 + 0 + 1 + 1 + 2


def test_incomplete_instrument_has_no_score():
    partial = answers_for("gad7", ["nearly_every_day"] * 6)
    assert instrument_score(instrument("gad7"), partial) is None
    assert "gad7" not in instrument_scores(partial)


def test_invalid_item_value_is_not_scored():
    bad = answers_for("gad7", ["nearly_every_day"] * 6 + [3])  # a raw number is not an option value
    assert instrument_score(instrument("gad7"), bad) is None


def test_pcptsd5_gate_no_scores_zero_and_gate_yes_counts_items():
    pc = instrument("pcptsd5")
    assert instrument_score(pc, {"pcptsd5_trauma": "no"}) == 0
    assert instrument_score(pc, {"pcptsd5_trauma": "yes"}) is None
    items = answers_for("pcptsd5", ["yes", "yes", "no", "yes", "no"])
    assert instrument_score(pc, {"pcptsd5_trauma": "yes", **items}) == 3


def answers_scoring(inst: Instrument, total: int, data: ScreeningContent) -> dict:
    """Answers to `inst` (its own options, read from the data) adding up to `total`; a risk item stays at its
    lowest option so the risk rule does not decide the outcome instead of the score."""
    answers = {inst.gate_id: "yes"} if inst.gate_id else {}
    for qid in inst.item_ids:
        options = sorted(data.questions[qid].options, key=lambda o: o.score)
        chosen = (
            options[0]
            if qid == inst.risk_item_id
            else max((o for o in options if o.score <= total), key=lambda o: o.score)
        )
        answers[qid] = chosen.value
        total -= chosen.score
    assert total == 0, f"{inst.id}: cannot reach the score with its options"
    return answers


def nothing_else_decides(data: ScreeningContent) -> dict:
    """Every contraindication answered No and the fewest failed antidepressants: only scores decide."""
    answers: dict = {rule.id: "no" for rule in data.contraindications}
    scored = [o for o in data.questions["tx_antidepressants"].options if o.score is not None]
    answers["tx_antidepressants"] = min(scored, key=lambda o: o.score).value
    return answers


def outcome_at(inst: Instrument, score: int, data: ScreeningContent):
    return decide_outcome({**nothing_else_decides(data), **answers_scoring(inst, score, data)}, content=data)


@pytest.mark.parametrize("iid", [i.id for i in content().instruments])
def test_a_score_at_the_cutoff_qualifies_and_one_below_goes_to_review(iid):
    # eligibility.yml: a score at or above its cut-off -> qualified; otherwise (below) -> needs_review.
    inst, data = instrument(iid), content()
    at = outcome_at(inst, inst.cutoff, data)
    assert at.scores[iid] == inst.cutoff and at.outcome == "qualified"
    [reason] = [r for r in at.reasons if r["id"] == f"{iid}_at_or_above_cutoff"]
    assert str(inst.cutoff) in reason["text"] and inst.name in reason["text"]  # staff see which cut-off
    below = outcome_at(inst, inst.cutoff - 1, data)
    assert below.scores[iid] == inst.cutoff - 1 and below.outcome == "needs_review"
    assert [r["id"] for r in below.reasons] == ["below_cutoffs"]


def test_the_cutoff_is_read_from_the_data(tmp_path: Path):
    content_dir = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, content_dir)
    raw = yaml.safe_load((content_dir / "instruments.yml").read_text(encoding="utf-8"))
    first = raw["instruments"][0]
    first["cutoff"] = int(first["cutoff"]) + 2
    (content_dir / "instruments.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    data = load_content(content_dir)
    inst = next(i for i in data.instruments if i.id == first["id"])
    assert outcome_at(inst, inst.cutoff - 2, data).outcome == "needs_review"  # the shipped cut-off no longer
    assert outcome_at(inst, inst.cutoff, data).outcome == "qualified"


def test_each_cutoff_is_the_one_its_source_documents():
    for i in content().instruments:
        assert i.source and i.cutoff_source, i.id
        assert re.search(rf"\b{i.cutoff}\b", i.cutoff_source), f"{i.id}: cut-off {i.cutoff} not in its source"
        # an unverified cut-off says so where a clinician reads it ([U], data/clinic/instruments.yml header)
        assert i.cutoff_unverified == ("[U]" in i.cutoff_source), i.id


def test_phq9_item9_risk():
    assert risk_item_positive({"phq9_9": "several_days"})
    assert not risk_item_positive({"phq9_9": "not_at_all"})
    assert not risk_item_positive({})

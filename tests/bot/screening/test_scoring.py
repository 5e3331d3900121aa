from __future__ import annotations

import pytest

from bot.screening.content import content
from bot.screening.scoring import instrument_score, instrument_scores, risk_item_positive

FREQ = ["not_at_all", "several_days", "more_than_half", "nearly_every_day"]
OCI = ["not_at_all", "a_little", "moderately", "a_lot", "extremely"]


def instrument(iid):
    return next(i for i in content().instruments if i.id == iid)


def answers_for(iid, values):
    return {qid: value for qid, value in zip(instrument(iid).item_ids, values)}


def test_item_counts_match_published_instruments():
    counts = {i.id: len(i.item_ids) for i in content().instruments}
    assert counts == {"gad7": 7, "phq9": 9, "pcptsd5": 5, "oci4": 4}


@pytest.mark.parametrize("iid,scale,maximum", [("gad7", FREQ, 21), ("phq9", FREQ, 27), ("oci4", OCI, 16)])
def test_range_from_zero_to_maximum(iid, scale, maximum):
    n = len(instrument(iid).item_ids)
    assert instrument_score(instrument(iid), answers_for(iid, [scale[0]] * n)) == 0
    assert instrument_score(instrument(iid), answers_for(iid, [scale[-1]] * n)) == maximum


def test_gad7_sum():
    values = ["several_days", "more_than_half", "nearly_every_day", "not_at_all", "several_days", "several_days",
              "more_than_half"]
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


def test_cutoffs_from_data():
    assert {i.id: i.cutoff for i in content().instruments} == {"gad7": 10, "phq9": 10, "pcptsd5": 3, "oci4": 7}
    assert instrument("oci4").cutoff_unverified is True
    assert all(i.source and i.cutoff_source for i in content().instruments)


def test_phq9_item9_risk():
    assert risk_item_positive({"phq9_9": "several_days"})
    assert not risk_item_positive({"phq9_9": "not_at_all"})
    assert not risk_item_positive({})

"""`make eval` (scripts/evaluate.py) counts what each message reaches, and keeps blind sets blind."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.safety.detector import assess_risk
from bot.safety.parse_data import risk_parse_data
from bot.safety.signals import combine_signals

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
evaluate = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("evaluate_script", evaluate)
_spec.loader.exec_module(evaluate)

MODEL_SAYS_CRISIS = ("crisis", [{"name": "crisis", "confidence": 1.0}])
MODEL_SAYS_INFORM = ("inform", [{"name": "inform", "confidence": 1.0}])


def risk_of(text: str, model: tuple) -> dict:
    """The `risk` parse data the NLU component attaches, with the real detector and a given model output."""
    assessment = assess_risk(text)
    return risk_parse_data(assessment, combine_signals(assessment.is_risk, *model))


CASES = [
    # (text, labelled risk, what the model said)
    ("i want to kill myself", True, MODEL_SAYS_CRISIS),  # both: full
    ("i have been planning to end my life this weekend", True, MODEL_SAYS_INFORM),  # detector only: full
    ("everything is pointless and I am done", True, MODEL_SAYS_CRISIS),  # model only: check
    ("it is hard to explain", True, MODEL_SAYS_INFORM),  # missed
    ("where is your office", False, MODEL_SAYS_CRISIS),  # model false alarm: check
    ("I'm a vet with PTSD", False, MODEL_SAYS_INFORM),  # nothing
]


def summary(tmp_path: Path, name: str = "crisis_holdout_99.yml") -> dict:
    cases = [{"text": t, "risk": r, "category": "suicidal_thoughts" if r else None} for t, r, _ in CASES]
    risk = [risk_of(t, m) for t, _, m in CASES]
    return evaluate.crisis_summary(tmp_path / name, cases, risk)


def test_either_recall_counts_the_check_question_and_full_recall_does_not(tmp_path):
    signals = summary(tmp_path)["signals"]
    assert signals["combined"]["recall"] == pytest.approx(3 / 4)
    assert signals["full"]["recall"] == pytest.approx(2 / 4)
    assert signals["check"]["recall"] == pytest.approx(1 / 4)
    assert signals["combined"]["false_alarms"] == 1
    assert signals["full"]["false_alarms"] == 0 and signals["check"]["false_alarms"] == 1


def test_a_seen_set_lists_its_misses_and_check_only_risk(tmp_path):
    report = summary(tmp_path)
    assert report["combined_misses"] == ["it is hard to explain"]
    assert report["check_only_risk"] == ["everything is pointless and I am done"]
    assert report["combined_false_alarms"] == ["where is your office"]


def test_a_blind_holdout_lists_no_message(tmp_path):
    report = summary(tmp_path, "crisis_holdout_8.yml")
    assert report["blind"]
    assert report["combined_misses"] == report["check_only_risk"] == report["combined_false_alarms"] == []
    markdown = "\n".join(evaluate.holdout_table([report]))
    assert all(text not in markdown for text, _, _ in CASES)
    assert "(blind)" in markdown


def test_parse_data_without_a_level_counts_as_the_full_reply():
    older = {"escalate": True, "detector": False, "model": True}
    flags = evaluate.signal_flags([older])
    assert flags["full"] == [True] and flags["check"] == [False]


def ordinary_cases():
    return [{"text": t, "topic": "clinic"} for t, r, _ in CASES if not r]


def test_the_fresh_ordinary_set_is_the_headline_in_aggregate_only(tmp_path):
    path = tmp_path / evaluate.FRESH_ORDINARY_SET.name
    risk = [risk_of(t, m) for t, r, m in CASES if not r]
    fresh = evaluate.ordinary_summary(path, ordinary_cases(), risk)
    assert fresh["signals"]["full"]["false_alarms"] == 0 and fresh["signals"]["check"]["false_alarms"] == 1
    assert fresh["full_false_alarms"] == fresh["check_false_alarms"] == fresh["combined_false_alarms"] == []
    headline = "\n".join(evaluate.headline_lines(fresh))
    assert "full crisis reply + staff alert on 0 (0.000, within the target of 0.02)" in headline
    assert "where is your office" not in "\n".join(evaluate.ordinary_lines(fresh))


def test_a_seen_ordinary_set_lists_its_false_alarms_by_level(tmp_path):
    risk = [risk_of(t, m) for t, r, m in CASES if not r]
    report = evaluate.ordinary_summary(tmp_path / "ordinary_messages.yml", ordinary_cases(), risk)
    assert report["full_false_alarms"] == [] and report["check_false_alarms"] == ["where is your office"]


def test_ordinary_sets_take_bare_strings_and_refuse_a_risk_case(tmp_path):
    path = tmp_path / "ordinary.yml"
    path.write_text('- "how much is it"\n- {text: "where do I park"}\n', encoding="utf-8")
    assert [c["text"] for c in evaluate.load_ordinary(path)] == ["how much is it", "where do I park"]
    path.write_text('- {text: "x", risk: true}\n', encoding="utf-8")
    with pytest.raises(ValueError):
        evaluate.load_ordinary(path)


def test_holdouts_are_ordered_by_number():
    numbers = [p.stem for p in evaluate.HOLDOUT_SETS]
    assert numbers[0] == "crisis_holdout" and numbers[1:4] == [
        "crisis_holdout_2",
        "crisis_holdout_3",
        "crisis_holdout_4",
    ]

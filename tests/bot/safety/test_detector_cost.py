"""The detector-cost section of the `make eval` report (scripts/eval_detector.py), on a fake clock: the figures
are the report's arithmetic, not a speed anyone asserts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety.detector import RiskAssessment
from scripts import eval_detector

NO_RISK = RiskAssessment(False, (), None, "en")


class FakeDetector:
    """Advances a fake clock by a set cost per message; the first run of each message is disturbed (slow)."""

    def __init__(self, cost_s: dict[str, float], disturbance_s: float = 0.5) -> None:
        self.now = 0.0
        self.cost_s = cost_s
        self.disturbance_s = disturbance_s
        self.seen: set[str] = set()

    def clock(self) -> float:
        return self.now

    def assess(self, text: str) -> RiskAssessment:
        self.now += self.cost_s[text] + (0.0 if text in self.seen else self.disturbance_s)
        self.seen.add(text)
        return NO_RISK


def test_cost_is_each_messages_fastest_run_then_median_p95_and_rate():
    texts = [f"message {n}" for n in range(1, 21)]
    fake = FakeDetector({text: n / 1000 for n, text in enumerate(texts, start=1)})  # 1 ms .. 20 ms
    fake.assess(texts[0])  # already warm: every run of it is undisturbed
    cost = eval_detector.detector_cost(texts, assess=fake.assess, repeats=3, clock=fake.clock)
    assert cost["messages"] == 20
    assert cost["median_ms"] == pytest.approx(10.5)  # the disturbed first runs are not counted
    assert cost["p95_ms"] == pytest.approx(19.0)  # nearest rank: the 19th of 20
    assert cost["messages_per_s"] == round(20 / 0.210)


def test_an_empty_set_has_no_figures():
    cost = eval_detector.detector_cost([])
    assert cost == {"messages": 0, "median_ms": None, "p95_ms": None, "messages_per_s": None}


def test_report_has_a_row_per_set_and_one_for_all(tmp_path: Path):
    first, second = tmp_path / "first.yml", tmp_path / "second.yml"
    first.write_text('- {text: "a", risk: false, category: null}\n- {text: "b", risk: false, category: null}\n')
    second.write_text('- {text: "c", topic: clinic}\n')
    fake = FakeDetector({"a": 0.001, "b": 0.002, "c": 0.004}, disturbance_s=0.0)
    report = eval_detector.detector_cost_report(
        {"eval": first, "ordinary": second}, assess=fake.assess, repeats=2, clock=fake.clock
    )
    assert list(report["sets"]) == ["eval", "ordinary", "all"]
    assert report["sets"]["all"]["messages"] == 3 and report["sets"]["ordinary"]["median_ms"] == pytest.approx(4.0)
    section = eval_detector.detector_cost_markdown(report)
    assert "## Detector cost per message" in section and "never asserted" in section
    assert "| `first.yml` | 2 | 1.500 | 2.000 | 667 |" in section
    assert "| `second.yml` | 1 | 4.000 | 4.000 | 250 |" in section
    assert "| all | 3 |" in section


def test_main_prints_the_cost_section_on_request(tmp_path: Path, capsys):
    path = tmp_path / "eval.yml"
    path.write_text(
        '- {text: "I want to die", risk: true, category: suicidal_thoughts}\n'
        '- {text: "what are your hours", risk: false, category: null}\n'
    )
    assert eval_detector.main([str(path), "--cost"]) == 0
    out = capsys.readouterr().out
    assert "## Detector cost per message" in out and "| `eval.yml` | 2 |" in out
    assert "| `ordinary_messages.yml` |" in out

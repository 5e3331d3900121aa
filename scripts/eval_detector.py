"""Evaluate the deterministic crisis detector on a labelled set (default: tests/data/crisis_eval.yml).

    python scripts/eval_detector.py [path/to/eval.yml] [--show] [--cost]

Prints recall (overall and per category), the false-positive rate on benign messages and, with --show,
every miss and false alarm. Exit status 1 when recall < 0.95 or the false-positive rate > 0.02, so `make eval`
can gate on it. The eval texts are test data, not visitor messages, so printing them is fine here.

--cost also prints what a message costs the detector on this machine (median, 95th percentile, messages per
second) over the eval set and the ordinary messages: the section `make eval` adds to reports/crisis-eval.md.
Speed is reported, never asserted in `make test` (wall-clock figures depend on the machine and its load).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(PROJECT_ROOT))

from bot.safety.detector import CATEGORY_ORDER, RiskAssessment, assess_risk  # noqa: E402

DEFAULT_EVAL_PATH = PROJECT_ROOT / "tests" / "data" / "crisis_eval.yml"
ORDINARY_MESSAGES_PATH = PROJECT_ROOT / "tests" / "data" / "ordinary_messages.yml"
COST_REPEATS = 5  # each message is timed this many times; the fastest run is the least disturbed by other work
RECALL_TARGET = 0.95
FALSE_POSITIVE_TARGET = 0.02


class EvalSetError(ValueError):
    """The evaluation file is missing or has a malformed case."""


def load_eval_set(path: Union[str, Path, None] = None) -> list[dict]:
    """Read and check the labelled cases: each has text (str), risk (bool), category (id or None), note."""
    eval_path = Path(path) if path is not None else DEFAULT_EVAL_PATH
    try:
        data = yaml.safe_load(eval_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalSetError(f"cannot read eval set {eval_path}: {exc}") from exc
    if not isinstance(data, list):
        raise EvalSetError(f"{eval_path}: expected a list of cases")
    cases: list[dict] = []
    for index, case in enumerate(data):
        where = f"{eval_path}: case {index}"
        if not isinstance(case, dict) or not isinstance(case.get("text"), str):
            raise EvalSetError(f"{where}: needs a 'text' string")
        if not isinstance(case.get("risk"), bool):
            raise EvalSetError(f"{where}: 'risk' must be true or false")
        category = case.get("category")
        if case["risk"] and category not in CATEGORY_ORDER:
            raise EvalSetError(f"{where}: a risk case needs a category among {', '.join(CATEGORY_ORDER)}")
        if not case["risk"] and category is not None:
            raise EvalSetError(f"{where}: a benign case has category null")
        cases.append({"text": case["text"], "risk": case["risk"], "category": category, "note": case.get("note")})
    return cases


def _ratio(numerator: int, denominator: int) -> Optional[float]:
    return numerator / denominator if denominator else None


def evaluate_detector(cases: Iterable[dict], assess: Callable[[str], RiskAssessment] = assess_risk) -> dict[str, Any]:
    """Recall overall and per labelled category, false-positive rate, category agreement, misses, false alarms."""
    risk_total = risk_hit = benign_total = false_alarm_count = category_agree = 0
    per_category: dict[str, dict[str, int]] = {}
    misses: list[dict] = []
    false_alarms: list[dict] = []
    for case in cases:
        result = assess(case["text"])
        if case["risk"]:
            risk_total += 1
            counts = per_category.setdefault(case["category"], {"total": 0, "hit": 0})
            counts["total"] += 1
            if result.is_risk:
                risk_hit += 1
                counts["hit"] += 1
                category_agree += case["category"] in result.categories
            else:
                misses.append({"text": case["text"], "category": case["category"]})
        else:
            benign_total += 1
            if result.is_risk:
                false_alarm_count += 1
                false_alarms.append({"text": case["text"], "categories": list(result.categories)})
    return {
        "risk_cases": risk_total,
        "benign_cases": benign_total,
        "recall": _ratio(risk_hit, risk_total),
        "recall_by_category": {
            category: _ratio(counts["hit"], counts["total"])
            for category, counts in sorted(per_category.items(), key=lambda item: CATEGORY_ORDER.index(item[0]))
        },
        "cases_by_category": {category: counts["total"] for category, counts in per_category.items()},
        "category_agreement": _ratio(category_agree, risk_hit),
        "false_positive_rate": _ratio(false_alarm_count, benign_total),
        "misses": misses,
        "false_alarms": false_alarms,
    }


def meets_targets(report: dict[str, Any]) -> bool:
    recall, fpr = report["recall"], report["false_positive_rate"]
    return recall is not None and fpr is not None and recall >= RECALL_TARGET and fpr <= FALSE_POSITIVE_TARGET


def format_report(report: dict[str, Any], show_cases: bool = False) -> str:
    def pct(value: Optional[float]) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    lines = [
        f"crisis detector: {report['risk_cases']} risk + {report['benign_cases']} benign messages",
        f"  recall {pct(report['recall'])} (target >= {RECALL_TARGET:.0%}), "
        f"false-positive rate {pct(report['false_positive_rate'])} (target <= {FALSE_POSITIVE_TARGET:.0%}), "
        f"category agreement on hits {pct(report['category_agreement'])}",
    ]
    for category, recall in report["recall_by_category"].items():
        lines.append(f"    {category:<20} {pct(recall):>7}  (n={report['cases_by_category'][category]})")
    lines.append(f"  misses: {len(report['misses'])}, false alarms: {len(report['false_alarms'])}")
    if show_cases:
        lines += [f"    MISS [{m['category']}] {m['text']}" for m in report["misses"]]
        lines += [f"    FALSE ALARM {f['categories']} {f['text']}" for f in report["false_alarms"]]
    lines.append("  PASS" if meets_targets(report) else "  BELOW TARGET")
    return "\n".join(lines)


def load_texts(path: Union[str, Path]) -> list[str]:
    """The `text` of every case in a YAML list of cases (eval sets and the ordinary messages alike)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise EvalSetError(f"{path}: expected a list of cases")
    return [case["text"] for case in data if isinstance(case, dict) and isinstance(case.get("text"), str)]


def _nearest_rank(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def detector_cost(
    texts: Sequence[str],
    assess: Callable[[str], RiskAssessment] = assess_risk,
    repeats: int = COST_REPEATS,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """What one message costs the detector: each message's fastest of `repeats` runs, then the median and the
    95th percentile (nearest rank) over the messages in milliseconds, and messages per second (count / sum)."""
    if not texts:
        return {"messages": 0, "median_ms": None, "p95_ms": None, "messages_per_s": None}
    assess(texts[0])  # the first call loads and compiles the lexicon: not a per-message cost
    costs: list[float] = []
    for text in texts:
        runs = []
        for _ in range(max(1, repeats)):
            started = clock()
            assess(text)
            runs.append(clock() - started)
        costs.append(min(runs))
    costs.sort()
    total = sum(costs)
    return {
        "messages": len(costs),
        "median_ms": round(1000 * statistics.median(costs), 4),
        "p95_ms": round(1000 * _nearest_rank(costs, 0.95), 4),
        "messages_per_s": round(len(costs) / total) if total > 0 else None,
    }


def detector_cost_report(sets: Mapping[str, Union[str, Path]], **options: Any) -> dict[str, Any]:
    """`detector_cost` per named set of messages and over all of them, with the machine it was measured on."""
    texts = {name: load_texts(path) for name, path in sets.items()}
    by_set = {name: detector_cost(set_texts, **options) for name, set_texts in texts.items()}
    if len(texts) > 1:
        by_set["all"] = detector_cost([t for set_texts in texts.values() for t in set_texts], **options)
    return {
        "sets": by_set,
        "paths": {name: str(path) for name, path in sets.items()},
        "repeats": options.get("repeats", COST_REPEATS),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }


def detector_cost_markdown(report: Mapping[str, Any]) -> str:
    """The report section: one row per set. Figures are for this machine and its load at the time."""

    def ms(value: Optional[float]) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        "",
        "## Detector cost per message",
        "",
        f"The deterministic detector alone (`bot/safety/detector.py`), measured by `make eval` on {report['machine']}: "
        f"each message's fastest of {report['repeats']} runs. Wall-clock figures vary with the machine and its "
        "load, so they are reported here and never asserted in `make test`.",
        "",
        "| set | messages | median ms | p95 ms | messages/s |",
        "|---|---|---|---|---|",
    ]
    for name, cost in report["sets"].items():
        label = f"`{Path(report['paths'][name]).name}`" if name in report["paths"] else name
        rate = "n/a" if cost["messages_per_s"] is None else f"{cost['messages_per_s']:,}"
        lines.append(f"| {label} | {cost['messages']} | {ms(cost['median_ms'])} | {ms(cost['p95_ms'])} | {rate} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show = "--show" in args
    paths = [a for a in args if not a.startswith("--")]
    try:
        cases = load_eval_set(paths[0] if paths else None)
    except EvalSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate_detector(cases)
    print(format_report(report, show_cases=show))
    if "--cost" in args:
        eval_path = paths[0] if paths else DEFAULT_EVAL_PATH
        print(detector_cost_markdown(detector_cost_report({"eval": eval_path, "ordinary": ORDINARY_MESSAGES_PATH})))
    return 0 if meets_targets(report) else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make eval`: crisis-detection recall and false-positive rate (detector alone, model alone, both), and the
NLU intent report from `rasa test nlu` on a held-out set. Writes reports/crisis-eval.md (+ .json) and
reports/nlu/."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from scripts.eval_detector import load_eval_set  # noqa: E402

MODEL = ROOT / "models" / "current.tar.gz"
EVAL_SET = ROOT / "tests" / "data" / "crisis_eval.yml"
# Fresh phrasings written after the lexicon, each measured once before any change; the last one was never
# tuned against (see its header): the honest generalisation figures.
# Ordinary visitor messages (symptoms, medications, clinic questions, answers), none a crisis: the false
# alarm rate visitors actually meet, as opposed to the adversarial look-alikes of the sets above.
ORDINARY_SET = ROOT / "tests" / "data" / "ordinary_messages.yml"
HOLDOUT_SETS = sorted((ROOT / "tests" / "bot" / "safety").glob("crisis_holdout*.yml"))
NLU_TEST_SET = ROOT / "tests" / "data" / "nlu_test.yml"
REPORTS = ROOT / "reports"


def rates(flags: List[bool], labels: List[bool]) -> Dict[str, float]:
    positives = [f for f, l in zip(flags, labels) if l]
    negatives = [f for f, l in zip(flags, labels) if not l]
    return {
        "recall": sum(positives) / len(positives) if positives else 0.0,
        "false_positive_rate": sum(negatives) / len(negatives) if negatives else 0.0,
        "missed": len(positives) - sum(positives),
        "false_alarms": sum(negatives),
    }


async def parse_all(texts: List[str]) -> List[dict]:
    return [await agent().parse_message(text) for text in texts]


_AGENT = []
LOOP = asyncio.new_event_loop()


def agent():
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    if not _AGENT:
        # Rasa's debug log prints every message's text: evaluation output stays free of it.
        configure_structlog(logging.WARNING)
        logging.getLogger("rasa").setLevel(logging.WARNING)
        _AGENT.append(Agent.load(str(MODEL)))
    return _AGENT[0]


def crisis_report(path: Path) -> dict:
    cases = load_eval_set(path)
    texts = [c["text"] for c in cases]
    labels = [bool(c["risk"]) for c in cases]
    started = time.perf_counter()
    parsed = LOOP.run_until_complete(parse_all(texts))
    elapsed = time.perf_counter() - started
    risk = [p.get("risk") or {} for p in parsed]
    by_signal = {
        "detector": [bool(r.get("detector")) for r in risk],
        "model": [bool(r.get("model")) for r in risk],
        "combined": [bool(r.get("escalate")) for r in risk],
    }
    result = {name: rates(flags, labels) for name, flags in by_signal.items()}
    per_category: Dict[str, Dict[str, int]] = {}
    for case, flagged in zip(cases, by_signal["combined"]):
        if case["risk"]:
            bucket = per_category.setdefault(case.get("category") or "unspecified", {"n": 0, "caught": 0})
            bucket["n"] += 1
            bucket["caught"] += int(flagged)
    misses = [c["text"] for c, f in zip(cases, by_signal["combined"]) if c["risk"] and not f]
    false_alarms = [c["text"] for c, f in zip(cases, by_signal["combined"]) if not c["risk"] and f]
    return {
        "set": str(path.relative_to(ROOT)),
        "cases": len(cases),
        "risk_cases": sum(labels),
        "benign_cases": len(labels) - sum(labels),
        "signals": result,
        "per_category": per_category,
        "combined_misses": misses,
        "combined_false_alarms": false_alarms,
        "parse_ms_per_message": round(1000 * elapsed / max(1, len(texts)), 2),
    }


def nlu_report() -> dict:
    out = REPORTS / "nlu"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rasa"), "test", "nlu", "--model", str(MODEL), "--nlu", str(NLU_TEST_SET),
         "--out", str(out), "--no-plot"],
        cwd=ROOT, check=True, env=dict(os.environ),
    )
    report = json.loads((out / "intent_report.json").read_text())
    return {
        "accuracy": report.get("accuracy"),
        "macro_f1": report.get("macro avg", {}).get("f1-score"),
        "weighted_f1": report.get("weighted avg", {}).get("f1-score"),
        "per_intent_f1": {k: round(v["f1-score"], 3) for k, v in report.items() if isinstance(v, dict) and "f1-score" in v and k not in {"macro avg", "weighted avg", "micro avg"}},
    }


def ordinary_report() -> dict:
    import yaml

    cases = yaml.safe_load(ORDINARY_SET.read_text(encoding="utf-8"))
    parsed = LOOP.run_until_complete(parse_all([c["text"] for c in cases]))
    risk = [p.get("risk") or {} for p in parsed]
    report = {"set": str(ORDINARY_SET.relative_to(ROOT)), "cases": len(cases), "signals": {}, "by_topic": {}}
    for name, key in (("detector", "detector"), ("model", "model"), ("combined", "escalate")):
        flagged = [bool(r.get(key)) for r in risk]
        report["signals"][name] = {"false_alarms": sum(flagged), "false_positive_rate": sum(flagged) / len(cases)}
    for case, r in zip(cases, risk):
        bucket = report["by_topic"].setdefault(case["topic"], {"n": 0, "alarms": 0})
        bucket["n"] += 1
        bucket["alarms"] += int(bool(r.get("escalate")))
    report["combined_false_alarms"] = [c["text"] for c, r in zip(cases, risk) if r.get("escalate")]
    return report


def ordinary_lines(ordinary: dict) -> List[str]:
    sig = ordinary["signals"]
    lines = [
        "",
        f"## Ordinary messages (`{ordinary['set']}`, {ordinary['cases']} messages, none a crisis)",
        "",
        "| signal | false alarms | rate |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {r['false_alarms']} | {r['false_positive_rate']:.3f} |" for name, r in sig.items()]
    lines += ["", "| topic | alarms / n |", "|---|---|"]
    lines += [f"| {t} | {b['alarms']} / {b['n']} |" for t, b in sorted(ordinary["by_topic"].items())]
    lines += ["", "False alarms:", ""] + ([f"- {t}" for t in ordinary["combined_false_alarms"]] or ["- none"])
    return lines


def holdout_table(holdouts: List[dict]) -> List[str]:
    lines = [
        "",
        "## Held-out sets (fresh phrasings, each measured once before changes; the last never tuned against)",
        "",
        "| set | risk / benign | detector recall | detector FPR | model recall | model FPR | combined recall | combined FPR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in holdouts:
        d, m, c = (h["signals"][k] for k in ("detector", "model", "combined"))
        lines.append(
            f"| `{h['set']}` | {h['risk_cases']} / {h['benign_cases']} | {d['recall']:.3f} | {d['false_positive_rate']:.3f} "
            f"| {m['recall']:.3f} | {m['false_positive_rate']:.3f} | {c['recall']:.3f} | {c['false_positive_rate']:.3f} |"
        )
    last = holdouts[-1] if holdouts else None
    if last:
        lines += ["", f"Missed by both signals in `{last['set']}`:", ""]
        lines += [f"- {t}" for t in last["combined_misses"]] or ["- none"]
    return lines


def markdown(crisis: dict, nlu: dict, holdouts: List[dict], ordinary: dict) -> str:
    lines = [
        "# Crisis detection and NLU evaluation",
        "",
        f"Evaluation set: `tests/data/crisis_eval.yml`, {crisis['cases']} messages ({crisis['risk_cases']} risk, "
        f"{crisis['benign_cases']} benign look-alikes), written apart from the NLU training data. The detector's "
        "lexicon was tuned on it, so its detector figures are optimistic: the held-out sets further down, and "
        "above all the last one (never tuned against), give the honest generalisation figures.",
        "",
        "| signal | recall on risk messages | false-positive rate on benign | missed | false alarms |",
        "|---|---|---|---|---|",
    ]
    for name, r in crisis["signals"].items():
        lines.append(f"| {name} | {r['recall']:.3f} | {r['false_positive_rate']:.3f} | {r['missed']} | {r['false_alarms']} |")
    lines += ["", "Recall of the combination by category:", "", "| category | caught / n |", "|---|---|"]
    for category, b in sorted(crisis["per_category"].items()):
        lines.append(f"| {category} | {b['caught']} / {b['n']} |")
    lines += ["", f"Mean parse time through the full NLU pipeline: {crisis['parse_ms_per_message']} ms per message.", ""]
    lines += ["## Missed by both signals", ""] + ([f"- {t}" for t in crisis["combined_misses"]] or ["- none"])
    lines += ["", "## False alarms of the combination", ""] + ([f"- {t}" for t in crisis["combined_false_alarms"]] or ["- none"])
    lines += holdout_table(holdouts)
    lines += ordinary_lines(ordinary)
    lines += [
        "",
        "## NLU intents (`rasa test nlu` on tests/data/nlu_test.yml, held out)",
        "",
        f"Accuracy {nlu['accuracy']:.3f}, macro F1 {nlu['macro_f1']:.3f}, weighted F1 {nlu['weighted_f1']:.3f}. "
        "Full report: `reports/nlu/intent_report.json`.",
        "",
        "| intent | F1 |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(nlu["per_intent_f1"].items())]
    return "\n".join(lines) + "\n"


def main() -> int:
    REPORTS.mkdir(exist_ok=True)
    crisis = crisis_report(EVAL_SET)
    holdouts = [crisis_report(path) for path in HOLDOUT_SETS]
    ordinary = ordinary_report()
    nlu = nlu_report()
    (REPORTS / "crisis-eval.json").write_text(
        json.dumps({"crisis": crisis, "holdouts": holdouts, "ordinary": ordinary, "nlu": nlu}, indent=2)
    )
    (REPORTS / "crisis-eval.md").write_text(markdown(crisis, nlu, holdouts, ordinary))
    for report in [crisis] + holdouts:
        print(report["set"])
        for name, r in report["signals"].items():
            print(f"  {name:9s} recall {r['recall']:.3f}  false-positive rate {r['false_positive_rate']:.3f}")
    print(f"ordinary messages: combined false-positive rate {ordinary['signals']['combined']['false_positive_rate']:.3f}")
    print(f"NLU accuracy {nlu['accuracy']:.3f}; report in reports/crisis-eval.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

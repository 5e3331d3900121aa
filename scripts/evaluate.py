"""`make eval`: crisis-detection recall and false-positive rate (detector alone, model alone, both), and the
NLU intent report from `rasa test nlu` on a held-out set. Writes reports/crisis-eval.md (+ .json) and
reports/nlu/. `--model` and `--out` evaluate another model into another folder (defaults: models/current.tar.gz
into reports/)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from scripts.eval_detector import detector_cost_markdown, detector_cost_report, load_eval_set  # noqa: E402

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
        [
            str(ROOT / ".venv" / "bin" / "rasa"),
            "test",
            "nlu",
            "--model",
            str(MODEL),
            "--nlu",
            str(NLU_TEST_SET),
            "--out",
            str(out),
            "--no-plot",
        ],
        cwd=ROOT,
        check=True,
        env=dict(os.environ),
    )
    report = json.loads((out / "intent_report.json").read_text())
    topics = out / "response_selection_report.json"
    return {
        "labels": label_report(),
        # The response selector alone, on the clinic questions (whatever the intent classifier said).
        "faq_topic_accuracy": json.loads(topics.read_text()).get("accuracy") if topics.exists() else None,
        "accuracy": report.get("accuracy"),
        "macro_f1": report.get("macro avg", {}).get("f1-score"),
        "weighted_f1": report.get("weighted avg", {}).get("f1-score"),
        "per_intent_f1": {
            k: round(v["f1-score"], 3)
            for k, v in report.items()
            if isinstance(v, dict) and "f1-score" in v and k not in {"macro avg", "weighted avg", "micro avg"}
        },
    }


def label_report() -> dict:
    """The held-out set through the whole pipeline, scored on what the bot acts on: the intent, and for a clinic
    question its topic too (`faq/cost`, read as action_answer_clinic_question reads it). "as deployed" counts a
    fallback or a crisis flag as it happens; "fallback undone" scores the top intent, as `rasa test nlu` does."""
    from rasa.nlu.classifiers import fallback_classifier
    from rasa.shared.nlu.training_data.loading import load_data

    from actions.interruptions import selected_faq_topic
    from bot.conversation import CLINIC_QUESTION_INTENT

    def label(parse: dict) -> str:
        name = (parse.get("intent") or {}).get("name") or ""
        return f"{name}/{selected_faq_topic(parse)}" if name == CLINIC_QUESTION_INTENT else name

    examples = load_data(str(NLU_TEST_SET)).intent_examples
    targets = [m.get_full_intent() for m in examples]
    parsed = LOOP.run_until_complete(parse_all([m.get("text") for m in examples]))
    deployed = [label(p) for p in parsed]
    is_fallback = fallback_classifier.is_fallback_classifier_prediction
    undone = [label(fallback_classifier.undo_fallback_prediction(p) if is_fallback(p) else p) for p in parsed]
    faq = [i for i, t in enumerate(targets) if t.startswith(CLINIC_QUESTION_INTENT + "/")]

    def share(got: List[str], among: List[int]) -> float:
        return sum(got[i] == targets[i] for i in among) / max(1, len(among))

    every = list(range(len(targets)))
    return {
        "cases": len(targets),
        "accuracy_as_deployed": share(deployed, every),
        "accuracy_fallback_undone": share(undone, every),
        "faq_cases": len(faq),
        "faq_right_topic_as_deployed": share(deployed, faq),
        "faq_right_topic_fallback_undone": share(undone, faq),
        "faq_misses": [
            f"{examples[i].get('text')} ({targets[i]} -> {deployed[i]})" for i in faq if deployed[i] != targets[i]
        ],
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
        lines.append(
            f"| {name} | {r['recall']:.3f} | {r['false_positive_rate']:.3f} | {r['missed']} | {r['false_alarms']} |"
        )
    lines += ["", "Recall of the combination by category:", "", "| category | caught / n |", "|---|---|"]
    for category, b in sorted(crisis["per_category"].items()):
        lines.append(f"| {category} | {b['caught']} / {b['n']} |")
    lines += [
        "",
        f"Mean parse time through the full NLU pipeline: {crisis['parse_ms_per_message']} ms per message.",
        "",
    ]
    lines += ["## Missed by both signals", ""] + ([f"- {t}" for t in crisis["combined_misses"]] or ["- none"])
    lines += ["", "## False alarms of the combination", ""] + (
        [f"- {t}" for t in crisis["combined_false_alarms"]] or ["- none"]
    )
    lines += holdout_table(holdouts)
    lines += ordinary_lines(ordinary)
    labels = nlu["labels"]
    faq_topics = "n/a" if nlu["faq_topic_accuracy"] is None else f"{nlu['faq_topic_accuracy']:.3f}"
    lines += [
        "",
        "## NLU intents (`rasa test nlu` on tests/data/nlu_test.yml, held out)",
        "",
        f"Accuracy {nlu['accuracy']:.3f}, macro F1 {nlu['macro_f1']:.3f}, weighted F1 {nlu['weighted_f1']:.3f}. "
        "Full report: `reports/nlu/intent_report.json`.",
        "",
        f"Intent and clinic-question topic together (`faq/cost`...), through the whole pipeline: accuracy "
        f"{labels['accuracy_as_deployed']:.3f} as deployed ({labels['accuracy_fallback_undone']:.3f} with the "
        f"fallback undone). Clinic questions answered with the right topic: {labels['faq_right_topic_as_deployed']:.3f}"
        f" of {labels['faq_cases']} as deployed ({labels['faq_right_topic_fallback_undone']:.3f} with the fallback "
        f"undone); the response selector alone picks the right topic for {faq_topics} of them.",
        "",
        "| intent | F1 |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(nlu["per_intent_f1"].items())]
    lines += ["", "Clinic questions not answered with the right topic:", ""]
    lines += [f"- {t}" for t in labels["faq_misses"]] or ["- none"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    global MODEL, REPORTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL, help="model to evaluate (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=REPORTS, help="folder for the reports (default: %(default)s)")
    args = parser.parse_args(argv)
    MODEL, REPORTS = args.model.resolve(), args.out.resolve()
    REPORTS.mkdir(parents=True, exist_ok=True)
    crisis = crisis_report(EVAL_SET)
    holdouts = [crisis_report(path) for path in HOLDOUT_SETS]
    ordinary = ordinary_report()
    nlu = nlu_report()
    # The detector's own per-message cost: a report figure (make test asserts no speed).
    cost = detector_cost_report({"crisis_eval": EVAL_SET, "ordinary": ORDINARY_SET})
    (REPORTS / "crisis-eval.json").write_text(
        json.dumps(
            {"crisis": crisis, "holdouts": holdouts, "ordinary": ordinary, "nlu": nlu, "detector_cost": cost}, indent=2
        )
    )
    (REPORTS / "crisis-eval.md").write_text(markdown(crisis, nlu, holdouts, ordinary) + detector_cost_markdown(cost))
    for report in [crisis] + holdouts:
        print(report["set"])
        for name, r in report["signals"].items():
            print(f"  {name:9s} recall {r['recall']:.3f}  false-positive rate {r['false_positive_rate']:.3f}")
    print(
        f"ordinary messages: combined false-positive rate {ordinary['signals']['combined']['false_positive_rate']:.3f}"
    )
    overall = cost["sets"]["all"]
    print(f"detector cost: median {overall['median_ms']} ms, p95 {overall['p95_ms']} ms a message")
    labels = nlu["labels"]
    print(
        f"NLU accuracy {nlu['accuracy']:.3f}; intent + clinic-question topic {labels['accuracy_as_deployed']:.3f}; "
        f"clinic questions answered with the right topic {labels['faq_right_topic_as_deployed']:.3f}"
    )
    print(f"report in {REPORTS / 'crisis-eval.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
from typing import Any, Dict, List, Optional

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
# Fresh ordinary messages written by someone who saw neither the detector nor the training data: the headline
# false-alarm figure (issue 8: at most 1 in 50 full crisis replies).
FRESH_ORDINARY_SET = ROOT / "tests" / "data" / "ordinary_fresh.yml"
HOLDOUT_SETS = sorted(
    (ROOT / "tests" / "bot" / "safety").glob("crisis_holdout*.yml"),
    key=lambda p: int(p.stem.rpartition("_")[2]) if p.stem.rpartition("_")[2].isdigit() else 1,
)
# Blind sets are reported in aggregate only: no message of theirs is written to the report, so no one tunes the
# detector or the training data against them.
BLIND_SETS = {FRESH_ORDINARY_SET.name, "crisis_holdout_8.yml"}
FULL_ALARM_TARGET = 0.02
NLU_TEST_SET = ROOT / "tests" / "data" / "nlu_test.yml"
REPORTS = ROOT / "reports"


def shown(path: Path) -> str:
    """A set's path as the report names it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


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
    started = time.perf_counter()
    parsed = LOOP.run_until_complete(parse_all(texts))
    elapsed = time.perf_counter() - started
    return crisis_summary(path, cases, [p.get("risk") or {} for p in parsed], elapsed)


def crisis_summary(path: Path, cases: List[dict], risk: List[dict], elapsed: float = 0.0) -> dict:
    """Recall and false alarms of each signal and level on one labelled set, from each message's `risk`."""
    texts = [c["text"] for c in cases]
    labels = [bool(c["risk"]) for c in cases]
    by_signal = signal_flags(risk)
    result = {name: rates(flags, labels) for name, flags in by_signal.items()}
    per_category: Dict[str, Dict[str, int]] = {}
    for case, flagged in zip(cases, by_signal["combined"]):
        if case["risk"]:
            bucket = per_category.setdefault(case.get("category") or "unspecified", {"n": 0, "caught": 0})
            bucket["n"] += 1
            bucket["caught"] += int(flagged)
    blind = path.name in BLIND_SETS
    misses = [c["text"] for c, f in zip(cases, by_signal["combined"]) if c["risk"] and not f]
    false_alarms = [c["text"] for c, f in zip(cases, by_signal["combined"]) if not c["risk"] and f]
    full_misses = [c["text"] for c, f in zip(cases, by_signal["full"]) if c["risk"] and not f]
    return {
        "set": shown(path),
        "blind": blind,
        "cases": len(cases),
        "risk_cases": sum(labels),
        "benign_cases": len(labels) - sum(labels),
        "signals": result,
        "per_category": per_category,
        "combined_misses": [] if blind else misses,
        "combined_false_alarms": [] if blind else false_alarms,
        # Risk messages that reach the check question only (the model flagged them, the detector did not).
        "check_only_risk": [] if blind else [t for t in full_misses if t not in misses],
        "parse_ms_per_message": round(1000 * elapsed / max(1, len(texts)), 2),
    }


def signal_flags(risk: List[dict]) -> Dict[str, List[bool]]:
    """Per message, which signal fired and what it reaches. `combined` (either signal) is what reaches at least
    the check question and 988; `full` is the full crisis reply and staff alert (risk.level == crisis); `check`
    the check question only (level check). Parse data without a level (an older component) counts as full."""

    def level(r: dict) -> str:
        return str(r.get("level") or ("crisis" if r.get("escalate") else "none"))

    return {
        "detector": [bool(r.get("detector")) for r in risk],
        "model": [bool(r.get("model")) for r in risk],
        "combined": [bool(r.get("escalate")) for r in risk],
        "full": [bool(r.get("escalate")) and level(r) != "check" for r in risk],
        "check": [bool(r.get("escalate")) and level(r) == "check" for r in risk],
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


def load_ordinary(path: Path) -> List[dict]:
    """Ordinary messages: a list of {text, topic?} (or of bare strings); a case marked risk: true is an error."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of messages")
    cases = []
    for index, item in enumerate(data):
        case = {"text": item} if isinstance(item, str) else item
        if not isinstance(case, dict) or not isinstance(case.get("text"), str):
            raise ValueError(f"{path}: message {index} needs a 'text' string")
        if case.get("risk"):
            raise ValueError(f"{path}: message {index} is marked as risk in a set of ordinary messages")
        cases.append({"text": case["text"], "topic": str(case.get("topic") or "unspecified")})
    return cases


def ordinary_report(path: Path = ORDINARY_SET) -> dict:
    cases = load_ordinary(path)
    parsed = LOOP.run_until_complete(parse_all([c["text"] for c in cases]))
    return ordinary_summary(path, cases, [p.get("risk") or {} for p in parsed])


def ordinary_summary(path: Path, cases: List[dict], risk: List[dict]) -> dict:
    """False alarms of each signal and level on a set of ordinary messages, from each message's `risk`."""
    blind = path.name in BLIND_SETS
    report: Dict[str, Any] = {
        "set": shown(path),
        "blind": blind,
        "cases": len(cases),
        "signals": {},
        "by_topic": {},
    }
    flags = signal_flags(risk)
    for name in ("detector", "model", "combined", "full", "check"):
        alarms = sum(flags[name])
        report["signals"][name] = {"false_alarms": alarms, "false_positive_rate": alarms / max(1, len(cases))}
    for case, full, check in zip(cases, flags["full"], flags["check"]):
        bucket = report["by_topic"].setdefault(case["topic"], {"n": 0, "alarms": 0, "full": 0, "check": 0})
        bucket["n"] += 1
        bucket["alarms"] += int(full or check)
        bucket["full"] += int(full)
        bucket["check"] += int(check)
    texts = [c["text"] for c in cases]
    report["full_false_alarms"] = [] if blind else [t for t, f in zip(texts, flags["full"]) if f]
    report["check_false_alarms"] = [] if blind else [t for t, f in zip(texts, flags["check"]) if f]
    report["combined_false_alarms"] = report["full_false_alarms"] + report["check_false_alarms"]
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
    lines += [
        f"| {SIGNAL_NAMES[name]} | {r['false_alarms']} | {r['false_positive_rate']:.3f} |" for name, r in sig.items()
    ]
    lines += ["", "| topic | full replies / check questions / n |", "|---|---|"]
    lines += [f"| {t} | {b['full']} / {b['check']} / {b['n']} |" for t, b in sorted(ordinary["by_topic"].items())]
    if ordinary["blind"]:
        return lines + ["", "A blind set: its messages are not listed here (nobody tunes against them)."]
    lines += ["", "Full crisis replies (false alarms):", ""] + (
        [f"- {t}" for t in ordinary["full_false_alarms"]] or ["- none"]
    )
    lines += ["", "Check questions (model alone):", ""] + (
        [f"- {t}" for t in ordinary["check_false_alarms"]] or ["- none"]
    )
    return lines


SIGNAL_NAMES = {
    "detector": "detector",
    "model": "model",
    "combined": "either (reaches the check question or more)",
    "full": "full crisis reply + alert",
    "check": "check question only",
}


def headline_lines(fresh: Optional[dict]) -> List[str]:
    if fresh is None:
        return ["", f"**Fresh ordinary messages** (`{FRESH_ORDINARY_SET.relative_to(ROOT)}`): not present yet.", ""]
    sig = fresh["signals"]
    full, check, either = sig["full"], sig["check"], sig["combined"]
    verdict = "within" if full["false_positive_rate"] <= FULL_ALARM_TARGET else "ABOVE"
    return [
        "",
        f"**Fresh ordinary messages** (`{fresh['set']}`, {fresh['cases']} messages written blind, none a crisis): "
        f"full crisis reply + staff alert on {full['false_alarms']} ({full['false_positive_rate']:.3f}, {verdict} the "
        f"target of {FULL_ALARM_TARGET:.2f}); the check question on {check['false_alarms']} "
        f"({check['false_positive_rate']:.3f}); either on {either['false_alarms']} ({either['false_positive_rate']:.3f}).",
        "",
    ]


LEVELS_NOTE = [
    "",
    "What a flagged message reaches (bot/safety/signals.py, `risk.level` in the parse data): a detector match is "
    "the **full crisis reply and a staff alert** (level `crisis`); a message only the model flags gets the "
    "**check question** first (level `check`, actions/crisis.py: are you thinking of suicide, or of hurting "
    "yourself or someone else, or is someone hurting you, with 988 and 911 in view; anything but a clear No, or any "
    "risk in the reply, escalates fully with a staff alert). So: *recall (either)* = risk messages that "
    "reach at least the check question and 988 (the combined recall of earlier reports); *recall (full)* = risk "
    "messages that get the full reply and alert at once; a *full false alarm* = an ordinary message given the "
    "full reply and alert; a *check* = an ordinary message asked the check question.",
    "",
]


def holdout_table(holdouts: List[dict]) -> List[str]:
    lines = [
        "",
        "## Held-out sets (fresh phrasings, each measured once before changes; the last never tuned against)",
        "",
        "| set | risk / benign | detector recall | detector FPR | model recall | model FPR | recall (either) | FPR (either) | recall (full) | full FPR |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for h in holdouts:
        d, m, c, f = (h["signals"][k] for k in ("detector", "model", "combined", "full"))
        lines.append(
            f"| `{h['set']}`{' (blind)' if h['blind'] else ''} | {h['risk_cases']} / {h['benign_cases']} "
            f"| {d['recall']:.3f} | {d['false_positive_rate']:.3f} | {m['recall']:.3f} | {m['false_positive_rate']:.3f} "
            f"| {c['recall']:.3f} | {c['false_positive_rate']:.3f} | {f['recall']:.3f} | {f['false_positive_rate']:.3f} |"
        )
    seen = [h for h in holdouts if not h["blind"]]
    last = seen[-1] if seen else None
    if last:
        lines += ["", f"Missed by both signals in `{last['set']}`:", ""]
        lines += [f"- {t}" for t in last["combined_misses"]] or ["- none"]
        lines += ["", f"Risk messages of `{last['set']}` that reach the check question only (model alone):", ""]
        lines += [f"- {t}" for t in last["check_only_risk"]] or ["- none"]
    if any(h["blind"] for h in holdouts):
        lines += ["", "Blind sets are reported in aggregate only: their messages are not listed."]
    return lines


def markdown(crisis: dict, nlu: dict, holdouts: List[dict], ordinary: dict, fresh: Optional[dict] = None) -> str:
    lines = (
        ["# Crisis detection and NLU evaluation"]
        + headline_lines(fresh)
        + LEVELS_NOTE
        + [
            f"Evaluation set: `tests/data/crisis_eval.yml`, {crisis['cases']} messages ({crisis['risk_cases']} risk, "
            f"{crisis['benign_cases']} benign look-alikes), written apart from the NLU training data. The detector's "
            "lexicon was tuned on it, so its detector figures are optimistic: the held-out sets further down, and "
            "above all the last one (never tuned against), give the honest generalisation figures.",
            "",
            "| signal | recall on risk messages | false-positive rate on benign | missed | false alarms |",
            "|---|---|---|---|---|",
        ]
    )
    for name, r in crisis["signals"].items():
        lines.append(
            f"| {SIGNAL_NAMES[name]} | {r['recall']:.3f} | {r['false_positive_rate']:.3f} | {r['missed']} | {r['false_alarms']} |"
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
    if fresh is not None:
        lines += ordinary_lines(fresh)
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
    fresh = ordinary_report(FRESH_ORDINARY_SET) if FRESH_ORDINARY_SET.exists() else None
    nlu = nlu_report()
    # The detector's own per-message cost: a report figure (make test asserts no speed).
    cost = detector_cost_report({"crisis_eval": EVAL_SET, "ordinary": ORDINARY_SET})
    (REPORTS / "crisis-eval.json").write_text(
        json.dumps(
            {
                "crisis": crisis,
                "holdouts": holdouts,
                "ordinary": ordinary,
                "ordinary_fresh": fresh,
                "nlu": nlu,
                "detector_cost": cost,
            },
            indent=2,
        )
    )
    (REPORTS / "crisis-eval.md").write_text(
        markdown(crisis, nlu, holdouts, ordinary, fresh) + detector_cost_markdown(cost)
    )
    for report in [crisis] + holdouts:
        print(report["set"])
        for name, r in report["signals"].items():
            print(f"  {name:9s} recall {r['recall']:.3f}  false-positive rate {r['false_positive_rate']:.3f}")
    for report in [ordinary] + ([fresh] if fresh else []):
        sig = report["signals"]
        print(
            f"{report['set']}: full crisis replies {sig['full']['false_positive_rate']:.3f}, check questions "
            f"{sig['check']['false_positive_rate']:.3f}, either {sig['combined']['false_positive_rate']:.3f}"
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

"""One registry for the clinic FAQ, checked rather than restated: the topics a visitor can ask are the sub-intents
`faq/<topic>` of the NLU data, the clinic profile answers exactly those topics (`faq.<topic>`), and the pipeline,
the domain and the reply routing all name the same retrieval intent."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import yaml

from bot.clinic import load_clinic_profile
from bot.conversation import CLINIC_QUESTION_INTENT

ROOT = Path(__file__).resolve().parents[1]
TOPIC_PREFIX = CLINIC_QUESTION_INTENT + "/"
# faq_answer() looks a topic up lower-cased and stripped, so a topic is a plain lower-case name.
TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Enough phrasings for the response selector to learn a topic (and for one to be held out of training).
MIN_EXAMPLES_PER_TOPIC = 5


def faq_examples(paths: Iterable[Path]) -> Counter:
    """Examples per FAQ topic in NLU data files: `intent: faq/cost` blocks count under "cost"."""
    counts: Counter = Counter()
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = str(block.get("intent", ""))
            if intent.startswith(TOPIC_PREFIX):
                lines = str(block.get("examples", "")).splitlines()
                counts[intent[len(TOPIC_PREFIX) :]] += sum(1 for line in lines if line.strip().startswith("- "))
    return counts


def training_topics() -> Counter:
    return faq_examples(sorted((ROOT / "data" / "nlu").rglob("*.yml")))


def story_topics(path: Path) -> set:
    steps = [step for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"] for step in story["steps"]]
    return {str(s["intent"])[len(TOPIC_PREFIX) :] for s in steps if str(s.get("intent", "")).startswith(TOPIC_PREFIX)}


def test_every_topic_a_visitor_can_ask_is_answered_by_the_clinic_profile_and_vice_versa():
    asked, answered = set(training_topics()), set(load_clinic_profile().faq)
    assert asked, f"no `{TOPIC_PREFIX}<topic>` examples in data/nlu"
    assert not asked - answered, f"asked in data/nlu but not answered in the clinic profile's faq: {asked - answered}"
    assert not answered - asked, f"answered in the clinic profile but never asked in data/nlu: {answered - asked}"


def test_topics_are_names_the_answer_lookup_finds_and_have_enough_examples():
    for topic, examples in training_topics().items():
        assert TOPIC_NAME.match(topic), f"{TOPIC_PREFIX}{topic}: use a lower-case name like the profile's faq keys"
        assert examples >= MIN_EXAMPLES_PER_TOPIC, f"{TOPIC_PREFIX}{topic}: only {examples} examples in data/nlu"


def test_held_out_set_and_test_stories_name_only_topics_the_bot_knows():
    known = set(training_topics())
    held_out = set(faq_examples([ROOT / "tests" / "data" / "nlu_test.yml"]))
    assert held_out, "the held-out NLU set has no clinic questions: the topic accuracy would not be measured"
    assert held_out <= known, held_out - known
    assert story_topics(ROOT / "tests" / "test_stories.yml") <= known


def test_the_pipeline_domain_and_routing_use_one_clinic_question_intent():
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    names = [component["name"] for component in config["pipeline"]]
    selectors = [c for c in config["pipeline"] if c["name"] == "ResponseSelector"]
    assert [s.get("retrieval_intent") for s in selectors] == [CLINIC_QUESTION_INTENT]
    # The crisis detector stays last, so nothing after it can undo a crisis flag.
    assert names[-1] == "rasa_ext.risk_component.RiskDetector"
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert CLINIC_QUESTION_INTENT in domain["intents"]
    assert not [i for i in domain["intents"] if str(i).startswith("ask_")], "FAQ topics are sub-intents, not intents"


def test_every_answer_names_where_its_claims_come_from():
    # Each FAQ answer has its `sources` entry: a named source for each medical claim, or a note that it is the
    # clinic's own fact or practice (prices, hours...), so a clinic reviewer can check every sentence.
    profile = load_clinic_profile()
    assert not set(profile.faq) - set(profile.sources), set(profile.faq) - set(profile.sources)


# The consensus statement the FAQ cites (Sanacora et al., JAMA Psychiatry 2017) covers depression; for these the
# evidence is early and the use off-label, so no answer says ketamine helps them.
EARLY_EVIDENCE = re.compile(r"\b(ptsd|ocd|anxiety|trauma|obsessive)\b", re.IGNORECASE)
EFFICACY_WORDS = re.compile(r"\b(help|helps|treats?|works?|effective|cures?)\b", re.IGNORECASE)


def test_no_answer_claims_ketamine_helps_what_the_sources_only_call_early():
    for topic, answer in load_clinic_profile().faq.items():
        for sentence in re.split(r"(?<=[.!?])\s+", answer):
            if EARLY_EVIDENCE.search(sentence):
                assert not EFFICACY_WORDS.search(sentence), f"faq.{topic}: {sentence}"
                assert re.search(r"\b(studied|early|off-label)\b", sentence), f"faq.{topic}: {sentence}"


def test_the_faq_holdout_covers_every_topic_with_enough_questions():
    # scripts/eval_faq.py (make eval) scores it; written apart from data/nlu, so no line of it is trained on.
    cases = yaml.safe_load((ROOT / "tests" / "data" / "faq_holdout.yml").read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 60
    assert {c["topic"] for c in cases} == set(training_topics())
    trained = set()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            lines = str(block.get("examples", "")).splitlines()
            trained |= {line.strip()[2:].strip().lower() for line in lines if line.strip().startswith("- ")}
    assert not {c["text"].strip().lower() for c in cases} & trained, "a held-out question is in the training data"

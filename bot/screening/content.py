"""Loads the clinic-reviewed screening content (data/clinic/*.yml) into Questions and rules.

The YAML is read once per process and cached; the engine's functions are pure over this content.
A malformed file fails loudly at load time (ContentError), never halfway through a conversation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from bot.screening.model import KINDS, OUTCOMES, ChecklistItem, Option, Question
from bot.yaml_files import read_yaml_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONTENT_DIR = PROJECT_ROOT / "data" / "clinic"
ANSWER_WORDS_FILE = "answer_words.yml"
MEDICATIONS_FILE = "medications.yml"
ANSWER_WORD_VALUES = ("yes", "no", "not_sure")

# The vocabulary of flow.yml `flow:` (the order of the screening), checked when the content loads.
ASK = "ask"  # {ask: <question id>, ...conditions}; a bare question id is the same without conditions
INSTRUMENTS = "instruments"  # instruments.yml in its order: each as its asked_when and gate say
CONTRAINDICATIONS = "contraindications"  # contraindications.yml questions in their order, then its checklist
TELL_OUTCOME = "tell_outcome"  # the outcome message goes before the next question the flow reaches
BLOCK_STEPS = (INSTRUMENTS, CONTRAINDICATIONS, TELL_OUTCOME)
CONDITIONS = ("stop_unless", "stop_if_below", "only_if_outcome")
STEP_NOTES = ("status", "source")  # how a stop ends the screening; why a step or threshold is there
# A stop ends the screening with one of these (model.STATUSES); without `status`, as the end of the flow does.
STOP_STATUSES = ("declined", "minor", "no_contact")
# No lead without an explicit yes to this question (bot/screening/lead.py): a flow that never asks it never
# completes, so the loader refuses it.
CONTACT_CONSENT_ID = "contact_consent"


class ContentError(ValueError):
    """The screening content in data/clinic is missing or malformed."""


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    cutoff: int
    source: str
    cutoff_source: str
    item_ids: Tuple[str, ...]
    gate_id: Optional[str]  # PC-PTSD-5 trauma-exposure question, if any
    only_for_concern: Optional[str]  # None = asked to everyone
    risk_item_id: Optional[str]  # PHQ-9 item 9
    cutoff_unverified: bool = False


@dataclass(frozen=True)
class ContraindicationRule:
    id: str
    label: str
    cls: str  # "absolute" | "relative"
    source: str


@dataclass(frozen=True)
class MedicationTable:
    """data/clinic/medications.yml: medicine names by group, and how near a misspelling may be."""

    groups: Dict[str, Tuple[str, ...]]  # group -> names (lower case, single-spaced), in data order
    min_length_one_edit: int  # a typed word this long may be one edit from a name
    min_length_two_edits: int  # ... this long, two edits
    same_first_letter: bool
    not_medicines: Tuple[str, ...]  # ordinary words near a name, never matched


@dataclass(frozen=True)
class Stop:
    """An answered question that ends the screening (flow.yml stop_unless / stop_if_below)."""

    status: Optional[str]  # the status it ends with; None: as the end of the flow would
    unless_answer: Optional[str] = None  # stop_unless: any other answer stops
    below: Optional[int] = None  # stop_if_below: a number under this stops

    def applies(self, value: object) -> bool:
        if self.unless_answer is not None:
            return value != self.unless_answer
        return self.below is not None and isinstance(value, int) and value < self.below


@dataclass(frozen=True)
class FlowStep:
    """One step of flow.yml `flow:`."""

    kind: str  # ASK or one of BLOCK_STEPS
    question_id: Optional[str] = None  # ASK only
    only_if_outcome: Optional[str] = None  # asked only while the outcome so far is this one
    stop: Optional[Stop] = None
    source: str = ""


@dataclass(frozen=True)
class ScreeningContent:
    questions: Dict[str, Question]
    instruments: Tuple[Instrument, ...]
    contraindications: Tuple[ContraindicationRule, ...]
    derived: Dict[str, Dict[str, Any]]
    interacting_medications: Dict[str, Tuple[str, ...]]
    eligibility: Dict[str, Any]
    section_prefaces: Dict[str, Tuple[str, ...]]
    flow: Tuple[FlowStep, ...] = ()
    question_order: Tuple[str, ...] = ()  # every question the flow can ask, in order, all branches
    # The review-only items asked as one checklist question (contraindications.yml `checklist`), each relative.
    checklist_id: Optional[str] = None
    checklist_rules: Tuple[ContraindicationRule, ...] = ()
    checklist_label: str = ""
    # checklist item id -> the follow-up question asked right after the checklist when that item was picked
    checklist_follow_ups: Dict[str, str] = field(default_factory=dict)
    medications: Optional[MedicationTable] = None
    thresholds: Dict[str, int] = field(default_factory=dict)  # contraindications.yml `thresholds`

    @property
    def health_question_ids(self) -> Tuple[str, ...]:
        """The `contraindications` step's questions in order, all branches: each plain question, the checklist,
        then its follow-ups (each asked only when its item is picked, bot/screening/flow.py)."""
        checklist = (self.checklist_id, *self.checklist_follow_ups.values()) if self.checklist_id else ()
        return tuple(rule.id for rule in self.contraindications) + checklist


@dataclass(frozen=True)
class AnswerWords:
    """The one list of Yes / No / Not sure words (data/clinic/answer_words.yml)."""

    by_value: Dict[str, Tuple[str, ...]]  # "yes" | "no" | "not_sure" -> words
    hedges: Tuple[str, ...]  # make a reply unsure where the question offers no "Not sure"

    def for_value(self, value: str) -> Tuple[str, ...]:
        """The words for an option value ("yes", "no", "not_sure"); () for any other value."""
        return self.by_value.get(value, ())


def _read_yaml(path: Path) -> Dict[str, Any]:
    return read_yaml_mapping(path, ContentError, "screening content")


def _options(raw: Any, where: str) -> Tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        raise ContentError(f"{where}: options must be a non-empty list")
    options = []
    for item in raw:
        synonyms = item.get("synonyms") or () if isinstance(item, dict) else ()
        if any(not isinstance(s, str) for s in synonyms):
            # YAML 1.1 reads bare yes/no/on/off as booleans: they must be quoted in the file.
            raise ContentError(f"{where}: every synonym must be a quoted string, got {list(synonyms)!r}")
        try:
            options.append(
                Option(
                    value=str(item["value"]),
                    title=str(item["title"]),
                    score=None if item.get("score") is None else int(item["score"]),
                    synonyms=tuple(str(s).lower() for s in item.get("synonyms") or ()),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(f"{where}: bad option {item!r}") from exc
    return tuple(options)


def _fill(text: str, clinic_name: str) -> str:
    # str.replace, not str.format: texts may hold other placeholders the actions fill in later.
    return " ".join(str(text).split()).replace("{clinic_name}", clinic_name)


def _flow_questions(flow: Mapping[str, Any], clinic_name: str) -> Dict[str, Question]:
    questions: Dict[str, Question] = {}
    for qid, raw in (flow.get("questions") or {}).items():
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ContentError(f"flow.yml {qid}: unknown kind {kind!r}")
        questions[qid] = Question(
            id=qid,
            section=str(raw["section"]),
            text=_fill(raw["text"], clinic_name),
            kind=kind,
            options=_options(raw["options"], f"flow.yml {qid}") if kind == "choice" else (),
            guidance=_fill(raw.get("guidance", ""), clinic_name),
            preface=tuple(_fill(p, clinic_name) for p in raw.get("preface") or ()),
            max_length=int(raw.get("max_length", 200)),
            min_value=raw.get("min_value"),
            max_value=raw.get("max_value"),
        )
    return questions


def _choice_guidance(options: Tuple[Option, ...]) -> str:
    # Without numbers: a number typed after this guidance would be a guess (bot/screening/answers.py asks).
    titles = [opt.title for opt in options]
    listed = " or ".join(titles) if len(titles) <= 2 else f"{', '.join(titles[:-1])}, or {titles[-1]}"
    return f"Please choose one: {listed}."


def _whole_item(template: str, item: str) -> str:
    """An instrument item as a whole question (instruments.yml `ask_each_as`): `{item}` is the item as
    published, `{item_in_sentence}` the same continuing a sentence (first letter small, no end mark)."""
    in_sentence = item[:1].lower() + item[1:]
    return template.replace("{item_in_sentence}", in_sentence.rstrip(".?")).replace("{item}", item)


def _as_list(raw: Any) -> List[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def _instruments(data: Mapping[str, Any]) -> Tuple[Tuple[Instrument, ...], Dict[str, Question]]:
    option_sets = {name: _options(raw, f"instruments.yml {name}") for name, raw in data["option_sets"].items()}
    instruments: List[Instrument] = []
    questions: Dict[str, Question] = {}
    for raw in data["instruments"]:
        iid = str(raw["id"])
        options = option_sets[raw["option_set"]]
        guidance = _choice_guidance(options)
        ask_each_as = " ".join(str(raw["ask_each_as"]).split())
        if "{item" not in ask_each_as:
            raise ContentError(f"instruments.yml {iid}: ask_each_as must hold {{item}} or {{item_in_sentence}}")
        intro = tuple(" ".join(str(t).split()) for t in _as_list(raw.get("intro")))
        gate_id = None
        if raw.get("gate"):
            gate_id = f"{iid}_trauma"
            questions[gate_id] = Question(
                id=gate_id,
                section=iid,
                text=" ".join(str(raw["gate"]["text"]).split()),
                kind="choice",
                options=option_sets["yes_no_scored"],
                guidance="Please answer Yes or No.",
                validated_wording=True,
            )
        item_ids = []
        for number, text in enumerate(raw["items"], start=1):
            qid = f"{iid}_{number}"
            item_ids.append(qid)
            questions[qid] = Question(
                id=qid,
                section=iid,
                text=_whole_item(ask_each_as, " ".join(str(text).split())),
                kind="choice",
                options=options,
                guidance=guidance,
                preface=intro if number == 1 else (),
                validated_wording=True,
            )
        asked_when = raw.get("asked_when", "always")
        risk_item = raw.get("risk_item")
        instruments.append(
            Instrument(
                id=iid,
                name=str(raw["name"]),
                cutoff=int(raw["cutoff"]),
                source=" ".join(str(raw["source"]).split()),
                cutoff_source=" ".join(str(raw["cutoff_source"]).split()),
                item_ids=tuple(item_ids),
                gate_id=gate_id,
                only_for_concern=None if asked_when == "always" else str(asked_when["concern"]),
                risk_item_id=f"{iid}_{risk_item}" if risk_item else None,
                cutoff_unverified=bool(raw.get("cutoff_unverified", False)),
            )
        )
    return tuple(instruments), questions


def _thresholds(data: Mapping[str, Any]) -> Dict[str, int]:
    """contraindications.yml `thresholds`: name -> whole number, each with its source (or the load fails)."""
    found: Dict[str, int] = {}
    for name, raw in (data.get("thresholds") or {}).items():
        value = raw.get("value") if isinstance(raw, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or not str(raw.get("source") or "").strip():
            raise ContentError(f"contraindications.yml thresholds.{name}: needs a whole-number value and a source")
        found[str(name)] = value
    return found


def _fill_thresholds(text: object, thresholds: Mapping[str, int]) -> str:
    filled = " ".join(str(text).split())
    for name, value in thresholds.items():
        filled = filled.replace("{" + name + "}", str(value))
    return filled


def _words(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list) or any(not isinstance(w, str) or not w.strip() for w in raw):
        # YAML 1.1 reads bare yes/no/on/off as booleans: they must be quoted in the file.
        raise ContentError(f"{where}: must be a list of quoted words, got {raw!r}")
    return tuple(" ".join(w.split()).casefold() for w in raw)


def _contraindications(
    data: Mapping[str, Any], yes_no_not_sure: Tuple[Option, ...], thresholds: Mapping[str, int]
) -> Tuple[Tuple[ContraindicationRule, ...], Dict[str, Question]]:
    rules: List[ContraindicationRule] = []
    questions: Dict[str, Question] = {}
    for raw in data["questions"]:
        cls = raw["class"]
        if cls not in ("absolute", "relative"):
            raise ContentError(f"contraindications.yml {raw.get('id')}: class must be absolute or relative")
        if not str(raw.get("source") or "").strip():
            raise ContentError(f"contraindications.yml {raw.get('id')}: every rule needs its source")
        label = _fill_thresholds(raw["label"], thresholds)
        rules.append(ContraindicationRule(raw["id"], label, cls, " ".join(str(raw["source"]).split())))
        questions[raw["id"]] = Question(
            id=raw["id"],
            section="contraindications",
            text=_fill_thresholds(raw["text"], thresholds),
            kind="choice",
            options=yes_no_not_sure,
            guidance="Please answer Yes, No, or Not sure.",
        )
    return tuple(rules), questions


def _follow_up(
    raw: Mapping[str, Any], yes_no_not_sure: Tuple[Option, ...], thresholds: Mapping[str, int], where: str
) -> Question:
    if not str(raw.get("source") or "").strip():
        raise ContentError(f"{where} follow_up: needs its source")
    return Question(
        id=str(raw["id"]),
        section="contraindications",
        text=_fill_thresholds(raw["text"], thresholds),
        kind="choice",
        options=yes_no_not_sure,
        guidance="Please answer Yes, No, or Not sure.",
    )


def _checklist(
    data: Mapping[str, Any], yes_no_not_sure: Tuple[Option, ...], thresholds: Mapping[str, int]
) -> Tuple[Optional[str], Tuple[ContraindicationRule, ...], Dict[str, Question], Dict[str, str]]:
    """contraindications.yml `checklist`: one question listing the review-only items, "None of these" first,
    and the follow-up questions of its items."""
    raw = data.get("checklist")
    if not raw:
        return None, (), {}, {}
    follow_ups: Dict[str, str] = {}
    questions: Dict[str, Question] = {}
    qid = str(raw["id"])
    where = f"contraindications.yml checklist {qid}"
    rules: List[ContraindicationRule] = []
    items: List[ChecklistItem] = []
    for item in raw["items"]:
        item_id = str(item["id"])
        if item.get("class", "relative") != "relative":
            raise ContentError(f"{where} {item_id}: only review items (relative) go in the checklist")
        if not str(item.get("source") or "").strip():
            raise ContentError(f"{where} {item_id}: every rule needs its source")
        synonyms = _words(item.get("synonyms") or [], f"{where} {item_id} synonyms")
        together = tuple(_words(group, f"{where} {item_id} together") for group in item.get("together") or ())
        if not synonyms and not together:
            raise ContentError(f"{where} {item_id}: give synonyms or together, the words that pick it")
        title = _fill_thresholds(item["title"], thresholds)
        rules.append(ContraindicationRule(item_id, title, "relative", " ".join(str(item["source"]).split())))
        items.append(ChecklistItem(value=item_id, title=title, synonyms=synonyms, together=together))
        if item.get("follow_up"):
            follow_up = _follow_up(item["follow_up"], yes_no_not_sure, thresholds, f"{where} {item_id}")
            questions[follow_up.id] = follow_up
            follow_ups[item_id] = follow_up.id
    none_raw = raw["none"]
    none = Option(value="none", title=str(none_raw["title"]), synonyms=_words(none_raw["synonyms"], f"{where} none"))
    # Numbered in the text itself, so the numbers a visitor types are the ones shown on every channel.
    lines = [f"{n}. {title}" for n, title in enumerate([none.title] + [i.title for i in items], start=1)]
    intro = f"{_fill_thresholds(raw['text'], thresholds)} {_fill_thresholds(raw['how_to_answer'], thresholds)}"
    question = Question(
        id=qid,
        section="contraindications",
        text="\n".join([intro, *lines]),
        kind="checklist",
        options=(none,),
        guidance=_fill_thresholds(raw["guidance"], thresholds),
        checklist_items=tuple(items),
    )
    return qid, tuple(rules), {qid: question, **questions}, follow_ups


def _medications(data: Mapping[str, Any]) -> MedicationTable:
    groups: Dict[str, Tuple[str, ...]] = {}
    for group, raw in (data.get("groups") or {}).items():
        if not isinstance(raw, dict) or not str(raw.get("source") or "").strip():
            raise ContentError(f"{MEDICATIONS_FILE} {group}: needs `names` and its `source`")
        groups[str(group)] = _words(raw.get("names"), f"{MEDICATIONS_FILE} {group} names")
    fuzzy = data.get("fuzzy") or {}
    one, two = fuzzy.get("min_length_one_edit"), fuzzy.get("min_length_two_edits")
    if not isinstance(one, int) or not isinstance(two, int) or not 3 <= one <= two:
        raise ContentError(f"{MEDICATIONS_FILE} fuzzy: min_length_one_edit and min_length_two_edits, 3 <= one <= two")
    return MedicationTable(
        groups=groups,
        min_length_one_edit=one,
        min_length_two_edits=two,
        same_first_letter=bool(fuzzy.get("same_first_letter", True)),
        not_medicines=_words(data.get("not_medicines") or [], f"{MEDICATIONS_FILE} not_medicines"),
    )


def _stop(raw: Mapping[str, Any], question: Question, where: str) -> Optional[Stop]:
    stops = [key for key in ("stop_unless", "stop_if_below") if key in raw]
    status = raw.get("status")
    if status is not None and status not in STOP_STATUSES:
        raise ContentError(f"{where}: status {status!r} is not one of {', '.join(STOP_STATUSES)}")
    if not stops:
        if status is not None:
            raise ContentError(f"{where}: status without stop_unless or stop_if_below")
        return None
    if len(stops) > 1:
        raise ContentError(f"{where}: one stop per step (stop_unless or stop_if_below)")
    if stops[0] == "stop_unless":
        rule = raw["stop_unless"]
        values = [option.value for option in question.options]
        if not isinstance(rule, dict) or set(rule) != {"answer"}:
            raise ContentError(f"{where}: stop_unless must be {{answer: <option value>}}, got {rule!r}")
        if rule["answer"] not in values:
            raise ContentError(
                f"{where}: stop_unless answer {rule['answer']!r} is not an option value of {question.id} "
                f'{values} (quote "yes" and "no")'
            )
        return Stop(status=status, unless_answer=str(rule["answer"]))
    below = raw["stop_if_below"]
    if question.kind != "number" or isinstance(below, bool) or not isinstance(below, int):
        raise ContentError(f"{where}: stop_if_below needs a number question and a whole number, got {below!r}")
    if not str(raw.get("source") or "").strip():
        raise ContentError(f"{where}: stop_if_below needs a source (why this threshold)")
    return Stop(status=status, below=below)


def _flow_step(raw: Any, where: str, questions: Mapping[str, Question]) -> FlowStep:
    if isinstance(raw, str) and raw in BLOCK_STEPS:
        return FlowStep(kind=raw)
    step = {ASK: raw} if isinstance(raw, str) else raw
    if not isinstance(step, dict) or ASK not in step:
        raise ContentError(
            f"{where}: unknown step {raw!r}: write a question id, {', '.join(BLOCK_STEPS)}, "
            "or {ask: <question id>, <condition>: ...}"
        )
    qid = step[ASK]
    if not isinstance(qid, str) or qid not in questions:
        known = "flow.yml questions, instruments.yml, contraindications.yml"
        if isinstance(raw, str):
            raise ContentError(
                f"{where}: unknown step {qid!r}: not a question id ({known}) nor one of {', '.join(BLOCK_STEPS)}"
            )
        raise ContentError(f"{where}: ask: unknown question id {qid!r} (not in {known})")
    where = f"{where} ({qid})"
    unknown = [key for key in step if key != ASK and key not in CONDITIONS + STEP_NOTES]
    if unknown:
        raise ContentError(f"{where}: unknown condition {unknown[0]!r} (known: {', '.join(CONDITIONS + STEP_NOTES)})")
    outcome = step.get("only_if_outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise ContentError(f"{where}: only_if_outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    return FlowStep(
        kind=ASK,
        question_id=qid,
        only_if_outcome=outcome,
        stop=_stop(step, questions[qid], where),
        source=" ".join(str(step.get("source") or "").split()),
    )


def _all_question_ids(
    step: FlowStep, instruments: Tuple[Instrument, ...], health_ids: Tuple[str, ...]
) -> Tuple[str, ...]:
    """Every question a step can ask, in order, whatever the answers (all instrument branches)."""
    if step.kind == ASK and step.question_id:
        return (step.question_id,)
    if step.kind == INSTRUMENTS:
        return tuple(qid for i in instruments for qid in ((i.gate_id,) if i.gate_id else ()) + i.item_ids)
    if step.kind == CONTRAINDICATIONS:
        return health_ids
    return ()


def _question_order(
    steps: Tuple[FlowStep, ...],
    questions: Mapping[str, Question],
    instruments: Tuple[Instrument, ...],
    health_ids: Tuple[str, ...],
    outside_flow: Set[str],
) -> Tuple[str, ...]:
    """The flow's question ids in order (all branches), after checking each is asked exactly once."""
    order = tuple(qid for step in steps for qid in _all_question_ids(step, instruments, health_ids))
    twice = sorted({qid for qid in order if order.count(qid) > 1})
    if twice:
        raise ContentError(f"flow.yml flow: asked more than once: {', '.join(twice)}")
    if CONTACT_CONSENT_ID not in order:
        raise ContentError(f"flow.yml flow: must ask {CONTACT_CONSENT_ID} (no lead without an explicit yes)")
    never = [qid for qid in questions if qid not in order and qid not in outside_flow]
    if never:
        raise ContentError(
            f"flow.yml: questions never asked: {', '.join(never)} (add them to `flow:`, or mark a question "
            "asked elsewhere `outside_flow: true`)"
        )
    return order


def _with_preface(question: Question, extra: Tuple[str, ...]) -> Question:
    return Question(
        id=question.id,
        section=question.section,
        text=question.text,
        kind=question.kind,
        options=question.options,
        guidance=question.guidance,
        preface=extra + question.preface,
        validated_wording=question.validated_wording,
        max_length=question.max_length,
        min_value=question.min_value,
        max_value=question.max_value,
        checklist_items=question.checklist_items,
    )


def load_content(content_dir: Optional[Path] = None, clinic_name: str = "the clinic") -> ScreeningContent:
    """Read and check all screening content from `content_dir` (default data/clinic)."""
    base = Path(content_dir) if content_dir else DEFAULT_CONTENT_DIR
    flow = _read_yaml(base / "flow.yml")
    try:
        questions = _flow_questions(flow, clinic_name)
        outside_flow = {qid for qid, raw in (flow.get("questions") or {}).items() if raw.get("outside_flow")}
        yes_no_not_sure = _options(flow["yes_no_not_sure"], "flow.yml yes_no_not_sure")
        instruments, instrument_questions = _instruments(_read_yaml(base / "instruments.yml"))
        ci_data = _read_yaml(base / "contraindications.yml")
        thresholds = _thresholds(ci_data)
        rules, ci_questions = _contraindications(ci_data, yes_no_not_sure, thresholds)
        checklist_id, checklist_rules, checklist_questions, follow_ups = _checklist(
            ci_data, yes_no_not_sure, thresholds
        )
        medications = _medications(_read_yaml(base / MEDICATIONS_FILE))
        eligibility = _read_yaml(base / "eligibility.yml")
        _check_eligibility(eligibility)
        section_prefaces = {
            section: tuple(_fill(t, clinic_name) for t in texts)
            for section, texts in (flow.get("section_prefaces") or {}).items()
        }
        derived = dict(ci_data.get("derived") or {})
        questions.update(instrument_questions)
        questions.update(ci_questions)
        questions.update(checklist_questions)
        raw_flow = flow.get("flow")
        if not isinstance(raw_flow, list) or not raw_flow:
            raise ContentError("flow.yml: `flow:` must be a list of steps (the order of the screening)")
        steps = tuple(_flow_step(raw, f"flow.yml flow step {n}", questions) for n, raw in enumerate(raw_flow, 1))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ContentError):
            raise
        raise ContentError(f"screening content in {base} is malformed: {exc!r}") from exc
    health_ids = tuple(rule.id for rule in rules)
    health_ids += (checklist_id, *follow_ups.values()) if checklist_id else ()
    order = _question_order(steps, questions, instruments, health_ids, outside_flow)
    # A section's intro goes before its first question in the flow.
    for section, texts in section_prefaces.items():
        first = next((qid for qid in order if questions[qid].section == section), None)
        if first is None:
            raise ContentError(f"flow.yml section_prefaces: no question in the flow has section {section!r}")
        questions[first] = _with_preface(questions[first], texts)
    answer_words(base)  # checked now: a broken word list must not surface as every reply being refused
    return ScreeningContent(
        questions=questions,
        instruments=instruments,
        contraindications=rules,
        derived=derived,
        interacting_medications=dict(medications.groups),
        eligibility=eligibility,
        section_prefaces=section_prefaces,
        flow=steps,
        question_order=order,
        checklist_id=checklist_id,
        checklist_rules=checklist_rules,
        checklist_label=str(ci_data["checklist"]["label"]) if checklist_id else "",
        checklist_follow_ups=follow_ups,
        medications=medications,
        thresholds=thresholds,
    )


# eligibility.yml numbers the outcome rules use: each must be there, a whole number (its source is beside it).
ELIGIBILITY_THRESHOLDS = ("treatment_resistant_min_failed_antidepressants",)


def _check_eligibility(eligibility: Mapping[str, Any]) -> None:
    for key in ELIGIBILITY_THRESHOLDS:
        value = eligibility.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContentError(f"eligibility.yml {key}: must be a whole number, got {value!r}")


def _word_list(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list) or not raw or any(not isinstance(w, str) or not w.strip() for w in raw):
        # YAML 1.1 reads bare yes/no/on/off as booleans: they must be quoted in the file.
        raise ContentError(f"{where} must be a non-empty list of quoted words, got {raw!r}")
    return tuple(" ".join(w.split()).lower() for w in raw)


@functools.lru_cache(maxsize=8)
def _answer_words_at(path: str) -> AnswerWords:
    data = _read_yaml(Path(path))
    expected = (*ANSWER_WORD_VALUES, "hedges")
    if set(data) != set(expected):
        raise ContentError(
            f'{path} must have exactly the keys {", ".join(expected)} (quote "yes" and "no"), got {list(data)!r}'
        )
    return AnswerWords(
        by_value={value: _word_list(data[value], f"{ANSWER_WORDS_FILE} {value}") for value in ANSWER_WORD_VALUES},
        hedges=_word_list(data["hedges"], f"{ANSWER_WORDS_FILE} hedges"),
    )


def answer_words(content_dir: Optional[Path] = None) -> AnswerWords:
    """The Yes / No / Not sure words in `content_dir` (default data/clinic), read once per directory."""
    base = Path(content_dir) if content_dir else DEFAULT_CONTENT_DIR
    return _answer_words_at(str((base / ANSWER_WORDS_FILE).resolve()))


@functools.lru_cache(maxsize=1)
def content() -> ScreeningContent:
    """The process-wide content, with the clinic's name from its profile (CLINIC_PROFILE or the default)."""
    from bot.clinic import load_clinic_profile  # local import: clinic.py is independent of screening

    return load_content(clinic_name=load_clinic_profile().name)

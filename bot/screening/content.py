"""Loads the clinic-reviewed screening content (data/clinic/*.yml) into Questions and rules.

The YAML is read once per process and cached; the engine's functions are pure over this content.
A malformed file fails loudly at load time (ContentError), never halfway through a conversation.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple


from bot.screening.model import KINDS, Option, Question
from bot.yaml_files import read_yaml_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONTENT_DIR = PROJECT_ROOT / "data" / "clinic"


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
class ScreeningContent:
    questions: Dict[str, Question]
    instruments: Tuple[Instrument, ...]
    contraindications: Tuple[ContraindicationRule, ...]
    derived: Dict[str, Dict[str, Any]]
    interacting_medications: Dict[str, Tuple[str, ...]]
    eligibility: Dict[str, Any]
    section_prefaces: Dict[str, Tuple[str, ...]]


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
    listed = ", ".join(f"{i} = {opt.title}" for i, opt in enumerate(options, start=1))
    return f"Please choose one: {listed}. You can type the words or the number."


def _instruments(data: Mapping[str, Any]) -> Tuple[Tuple[Instrument, ...], Dict[str, Question]]:
    option_sets = {name: _options(raw, f"instruments.yml {name}") for name, raw in data["option_sets"].items()}
    instruments: List[Instrument] = []
    questions: Dict[str, Question] = {}
    for raw in data["instruments"]:
        iid = str(raw["id"])
        options = option_sets[raw["option_set"]]
        guidance = _choice_guidance(options)
        stem = " ".join(str(raw["stem"]).split())
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
                text=" ".join(str(text).split()),
                kind="choice",
                options=options,
                guidance=guidance,
                preface=(stem,) if number == 1 else (),
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


def _contraindications(
    data: Mapping[str, Any], yes_no_not_sure: Tuple[Option, ...]
) -> Tuple[Tuple[ContraindicationRule, ...], Dict[str, Question]]:
    rules: List[ContraindicationRule] = []
    questions: Dict[str, Question] = {}
    for raw in data["questions"]:
        cls = raw["class"]
        if cls not in ("absolute", "relative"):
            raise ContentError(f"contraindications.yml {raw.get('id')}: class must be absolute or relative")
        rules.append(ContraindicationRule(raw["id"], raw["label"], cls, " ".join(str(raw["source"]).split())))
        questions[raw["id"]] = Question(
            id=raw["id"],
            section="contraindications",
            text=" ".join(str(raw["text"]).split()),
            kind="choice",
            options=yes_no_not_sure,
            guidance="Please answer Yes, No, or Not sure.",
        )
    return tuple(rules), questions


def _with_preface(question: Question, extra: Tuple[str, ...]) -> Question:
    return Question(
        id=question.id, section=question.section, text=question.text, kind=question.kind,
        options=question.options, guidance=question.guidance, preface=extra + question.preface,
        validated_wording=question.validated_wording, max_length=question.max_length,
        min_value=question.min_value, max_value=question.max_value,
    )


def load_content(content_dir: Optional[Path] = None, clinic_name: str = "the clinic") -> ScreeningContent:
    """Read and check all screening content from `content_dir` (default data/clinic)."""
    base = Path(content_dir) if content_dir else DEFAULT_CONTENT_DIR
    flow = _read_yaml(base / "flow.yml")
    try:
        questions = _flow_questions(flow, clinic_name)
        yes_no_not_sure = _options(flow["yes_no_not_sure"], "flow.yml yes_no_not_sure")
        instruments, instrument_questions = _instruments(_read_yaml(base / "instruments.yml"))
        ci_data = _read_yaml(base / "contraindications.yml")
        rules, ci_questions = _contraindications(ci_data, yes_no_not_sure)
        eligibility = _read_yaml(base / "eligibility.yml")
        section_prefaces = {
            section: tuple(_fill(t, clinic_name) for t in texts)
            for section, texts in (flow.get("section_prefaces") or {}).items()
        }
        meds = {
            group: tuple(str(n).lower() for n in names)
            for group, names in (ci_data.get("interacting_medications") or {}).items()
        }
        derived = dict(ci_data.get("derived") or {})
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ContentError):
            raise
        raise ContentError(f"screening content in {base} is malformed: {exc!r}") from exc
    questions.update(instrument_questions)
    questions.update(ci_questions)
    # A section's intro goes before its first question.
    if rules:
        first_ci = rules[0].id
        questions[first_ci] = _with_preface(questions[first_ci], section_prefaces.get("contraindications", ()))
    if "tx_antidepressants" in questions:
        questions["tx_antidepressants"] = _with_preface(
            questions["tx_antidepressants"], section_prefaces.get("treatment_history", ())
        )
    return ScreeningContent(
        questions=questions,
        instruments=instruments,
        contraindications=rules,
        derived=derived,
        interacting_medications=meds,
        eligibility=eligibility,
        section_prefaces=section_prefaces,
    )


@functools.lru_cache(maxsize=1)
def content() -> ScreeningContent:
    """The process-wide content, with the clinic's name from its profile (CLINIC_PROFILE or the default)."""
    from bot.clinic import load_clinic_profile  # local import: clinic.py is independent of screening

    return load_content(clinic_name=load_clinic_profile().name)

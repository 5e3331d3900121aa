"""The shapes the screening engine hands to its callers (the Rasa actions never see YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

# Question kinds the answer parser understands.
KINDS = ("choice", "number", "text", "phone", "email", "checklist")

# Outcomes, from most to least restrictive. The bot never diagnoses and never rules anyone in:
# "qualified" only means "a consultation looks like a good next step".
OUTCOMES = ("qualified", "needs_review", "not_eligible")

# Conversation states reported by flow.screening_progress() (ScreeningProgress.status).
STATUSES = ("in_progress", "declined", "minor", "complete", "no_contact")


@dataclass(frozen=True)
class Option:
    value: str
    title: str
    score: Optional[int] = None
    synonyms: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ChecklistItem:
    """One line of a checklist question ("Do any of these apply to you?"), numbered from 2 (1 is "None")."""

    value: str  # the item's rule id, stored in the answer's list
    title: str
    synonyms: Tuple[str, ...] = ()  # any one of these phrases in a reply picks the item
    together: Tuple[Tuple[str, ...], ...] = ()  # or a word from each of these lists ("brother" + "schizophrenia")


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str
    kind: str  # "choice" | "number" | "text" | "phone" | "email"
    options: Tuple[Option, ...] = ()
    guidance: str = ""
    preface: Tuple[str, ...] = ()  # static preface (e.g. instrument stem)
    validated_wording: bool = False  # True for published instrument items
    # False where broad Yes / No words would be dangerous: at "Are you safe right now?" the shared words "right",
    # "i am", "i have" would read "not safe right now" or "I am scared" as Yes. Not sure words always apply.
    shared_yes_no_words: bool = True
    # Extras (not part of the lead's contract, all defaulted): bounds used by the parser.
    max_length: int = 200
    min_value: Optional[int] = None
    max_value: Optional[int] = None
    # kind "checklist": the items, numbered after options[0] (the "None of these" answer); see checklist.py.
    checklist_items: Tuple[ChecklistItem, ...] = ()

    def option(self, value: str) -> Optional[Option]:
        """The option with this value, or None."""
        for opt in self.options:
            if opt.value == value:
                return opt
        return None


# Why a reply was not an answer (ParsedAnswer.reason). AMBIGUOUS: it points at an option but not at exactly one
# for sure (a bare number where no numbers were shown, a qualified or negated option word such as "almost never",
# two options, a hedge): the visitor is asked which one they meant. UNRECOGNISED: nothing in it names an option.
# INVALID: never readable as an answer (a typed intent payload, too long, control characters, out of range).
AMBIGUOUS = "ambiguous"
UNRECOGNISED = "unrecognised"
INVALID = "invalid"
REASONS = (AMBIGUOUS, UNRECOGNISED, INVALID)


@dataclass(frozen=True)
class ParsedAnswer:
    ok: bool
    value: object = None
    display: str = ""
    error: str = ""  # the guidance to send when not ok
    reason: str = ""  # one of REASONS when not ok; "" when ok
    # The error lists the options with their numbers ("Reply 1 for Not at all, 2 for ..."): a number typed in
    # reply to it refers to that numbering (the caller tells parse_answer so with numbers_shown=True).
    numbered: bool = False
    # The option values the reply could have meant (by its words or either reading of its number), for callers
    # that must not treat an unclear reply as a clear one (PHQ-9 item 9: only a clear "Not at all" is negative).
    candidates: Tuple[str, ...] = ()
    raw: str = ""  # the reply as typed, when not ok (never logged: it is visitor text)


@dataclass(frozen=True)
class Step:
    """What to ask next."""

    question: Question
    preface: Tuple[str, ...]  # messages to send before the question the FIRST time (static + dynamic)


@dataclass(frozen=True)
class ScreeningResult:
    outcome: str  # "qualified" | "needs_review" | "not_eligible"
    scores: Dict[str, int]  # only instruments asked, e.g. {"gad7": 12, "phq9": 8}
    contraindications: List[dict] = field(default_factory=list)
    reasons: List[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ScreeningProgress:
    """One snapshot of the screening, derived once from its stored answers (flow.screening_progress)."""

    answers: Mapping[str, object]  # the valid answers (stored.valid_answers), read-only
    result: ScreeningResult  # the outcome so far, with its scores and reasons
    next_step: Optional[Step]  # what to ask next; None when nothing is left to ask
    status: str  # one of STATUSES
    crisis_flag: bool = False  # the outcome was decided with this crisis flag

    @property
    def outcome(self) -> str:
        return self.result.outcome

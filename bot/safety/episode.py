"""A crisis episode: from the first sign of risk until the visitor says they want to go on.

State lives in the `crisis` slot as a plain dict (see `CrisisState.to_slot`). While an episode is open the
visitor is asked whether they are safe right now and then whether they want to keep going; the questionnaire
never resumes on its own. Staff get one alert per episode; the lead carries the flag for good.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional, Tuple

from bot.safety.detector import SEVERITY_ORDER, RiskAssessment, most_severe
from bot.safety.responses import question_texts
from bot.screening.model import Option, Question

ASK_SAFE = "ask_safe"
ASK_CONTINUE = "ask_continue"
SAFE_QUESTION_ID = "crisis_safe"
CONTINUE_QUESTION_ID = "crisis_continue"

# PHQ-9 item 9 above "Not at all" opens an episode too (reference notes §2: any score > 0 triggers risk
# follow-up; a practice norm, routed like a disclosed suicidal thought).
PHQ9_ITEM9_CATEGORY = "phq9_item9"
PHQ9_ITEM9_ASSESSMENT = RiskAssessment(is_risk=True, categories=("suicidal_thoughts",), severity="high", language="en")
# When only the trained model flagged a message the detector found no category: "unspecified", severity high.
MODEL_ONLY_ASSESSMENT = RiskAssessment(is_risk=True, categories=("unspecified",), severity="high", language="en")

# "Are you safe right now?" offers Yes / No / Not sure, so it understands the words every such question does
# (data/clinic/answer_words.yml, via bot.screening.answers); these are its own phrases on top.
# "Are you safe right now?" takes only these words (and the shared Not sure words): the broad Yes words of
# data/clinic/answer_words.yml ("right", "i am", "i have") would read "not safe right now" or "I am scared" as
# safe. A reply it cannot read is asked again, with 911 in the guidance.
_SAFE = (
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "ok",
    "okay",
    "i'm safe",
    "im safe",
    "i am safe",
    "safe",
    "si",
    "sí",
    "estoy a salvo",
)
_NOT_SAFE = ("no", "n", "nope", "nah", "not safe", "i'm not safe", "im not safe", "i am not safe", "no estoy a salvo")


@dataclass(frozen=True)
class CrisisState:
    flagged: bool = False
    open: bool = False
    stage: Optional[str] = None
    categories: Tuple[str, ...] = ()
    severity: Optional[str] = None
    language: str = "en"
    episodes: int = 0

    @classmethod
    def from_slot(cls, value: Any) -> CrisisState:
        if not isinstance(value, Mapping):
            return cls()
        severity = value.get("severity")
        return cls(
            flagged=bool(value.get("flagged")),
            open=bool(value.get("open")),
            stage=value.get("stage") if value.get("stage") in (ASK_SAFE, ASK_CONTINUE) else None,
            categories=tuple(str(c) for c in value.get("categories") or ()),
            severity=severity if severity in SEVERITY_ORDER else None,
            language="es" if value.get("language") == "es" else "en",
            episodes=int(value.get("episodes") or 0),
        )

    def to_slot(self) -> dict:
        return {
            "flagged": self.flagged,
            "open": self.open,
            "stage": self.stage,
            "categories": list(self.categories),
            "severity": self.severity,
            "language": self.language,
            "episodes": self.episodes,
        }

    def lead_flag(self) -> dict:
        """What the lead carries: whether risk was raised and which categories."""
        return {"flagged": self.flagged, "categories": list(self.categories)}


def _merge_categories(existing: Tuple[str, ...], new: Tuple[str, ...]) -> Tuple[str, ...]:
    return existing + tuple(c for c in new if c not in existing)


def open_episode(
    state: CrisisState, assessment: RiskAssessment, extra_categories: Tuple[str, ...] = ()
) -> Tuple[CrisisState, bool]:
    """Record a risk signal. Returns the new state and whether this started a new episode (alert staff)."""
    categories = _merge_categories(state.categories, tuple(assessment.categories) + extra_categories)
    severity = most_severe([s for s in (state.severity, assessment.severity) if s])
    is_new = not state.open
    new_state = replace(
        state,
        flagged=True,
        open=True,
        stage=ASK_SAFE,
        categories=categories,
        severity=severity,
        language=assessment.language if is_new else state.language,
        episodes=state.episodes + (1 if is_new else 0),
    )
    return new_state, is_new


def _options(
    titles: Tuple[str, ...], values: Tuple[str, ...], synonyms: Tuple[Tuple[str, ...], ...]
) -> Tuple[Option, ...]:
    return tuple(Option(value=v, title=t, synonyms=s) for t, v, s in zip(titles, values, synonyms))


def followup_question(state: CrisisState) -> Optional[Question]:
    """The crisis question to ask now, or None when no episode is open."""
    if not state.open:
        return None
    texts = question_texts(state.language)
    if state.stage == ASK_CONTINUE:
        return Question(
            id=CONTINUE_QUESTION_ID,
            section="crisis",
            text=texts["continue"],
            kind="choice",
            # Not a Yes/No question: its options are "continue" and "stop", so only these words choose them.
            # The broad Yes words ("i am", "i have") would resume the screening on "I am done".
            options=_options(
                texts["continue_options"],
                ("continue", "stop"),
                (
                    ("keep going", "continue", "go on", "yes", "y", "ok", "okay", "sure", "seguir", "si", "sí"),
                    ("stop", "stop for now", "no", "n", "not now", "later", "parar", "no quiero"),
                ),
            ),
            guidance=texts["continue_guidance"],
        )
    return Question(
        id=SAFE_QUESTION_ID,
        section="crisis",
        text=texts["safe"],
        kind="choice",
        options=_options(texts["safe_options"], ("yes", "no", "not_sure"), (_SAFE, _NOT_SAFE, ())),
        guidance=texts["safe_guidance"],
        shared_yes_no_words=False,
    )


def answer_followup(state: CrisisState, question_id: str, value: str) -> Tuple[CrisisState, str, bool]:
    """Apply an answer to a crisis question.

    Returns (new state, follow-up kind to reply with or "" for none, whether the visitor chose to stop).
    Kinds: "safe_now", "unsafe_now" (bot.safety.responses.followup_reply) and "resume".
    """
    if question_id == SAFE_QUESTION_ID:
        kind = "safe_now" if value == "yes" else "unsafe_now"
        return replace(state, stage=ASK_CONTINUE), kind, False
    if question_id == CONTINUE_QUESTION_ID:
        if value == "continue":
            return replace(state, open=False, stage=None), "resume", False
        return replace(state, open=False, stage=None), "", True
    return state, "", False


def resume_text(language: str) -> str:
    return question_texts(language)["resume"]

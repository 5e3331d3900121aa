"""Combine the two crisis signals: the deterministic detector and the trained NLU intent.

A message flagged by either reaches a risk question and 988 (a missed crisis is the worst failure). What it
reaches depends on which signal fired (issue 8, "False alarms cost trust"):

- `crisis`: the detector matched a reviewed risk phrasing. The full crisis reply and a staff alert.
- `check`: only the model flagged it. The model alone sends ordinary messages to crisis (on the dev set one
  benign look-alike in ten, with a confidence of 1.0 as often as on real risk, so no threshold separates them),
  so the visitor is first asked, warmly and with 988 in view, whether they have thoughts of suicide or of
  hurting themselves; a Yes, an unclear reply or any risk in the reply escalates fully.
- `none`: neither signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Tuple

CRISIS_INTENT = "crisis"
DEFAULT_MODEL_THRESHOLD = 0.4

LEVEL_CRISIS = "crisis"
LEVEL_CHECK = "check"
LEVEL_NONE = "none"
RISK_LEVELS: Tuple[str, ...] = (LEVEL_CRISIS, LEVEL_CHECK, LEVEL_NONE)


@dataclass(frozen=True)
class CrisisSignal:
    escalate: bool  # either signal fired: the message reaches at least the check question and 988
    detector: bool
    model: bool
    model_confidence: float

    @property
    def level(self) -> str:
        """`crisis` (detector: full reply and alert), `check` (model alone: ask first) or `none`."""
        if self.detector:
            return LEVEL_CRISIS
        return LEVEL_CHECK if self.model else LEVEL_NONE

    @property
    def confirmed(self) -> bool:
        """True when the risk is confirmed without asking: a reviewed phrasing matched."""
        return self.level == LEVEL_CRISIS


def model_crisis_confidence(intent_ranking: Iterable[Mapping[str, object]]) -> float:
    """The confidence the NLU model gave the crisis intent, 0.0 when absent."""
    for ranked in intent_ranking or ():
        if ranked.get("name") == CRISIS_INTENT:
            try:
                return float(ranked.get("confidence") or 0.0)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return 0.0
    return 0.0


def combine_signals(
    detector_flagged: bool,
    top_intent: Optional[str],
    intent_ranking: Iterable[Mapping[str, object]],
    threshold: float = DEFAULT_MODEL_THRESHOLD,
) -> CrisisSignal:
    confidence = model_crisis_confidence(intent_ranking)
    model_flagged = top_intent == CRISIS_INTENT or confidence >= threshold
    return CrisisSignal(
        escalate=detector_flagged or model_flagged,
        detector=detector_flagged,
        model=model_flagged,
        model_confidence=confidence,
    )


def crisis_intent(confidence: float = 1.0) -> dict:
    return {"name": CRISIS_INTENT, "confidence": confidence}


def ranking_with_crisis_first(intent_ranking: Iterable[Mapping[str, object]]) -> Tuple[dict, ...]:
    """Put the crisis intent on top of the ranking (confidence 1.0), keeping the rest for evaluation."""
    rest = tuple(dict(r) for r in intent_ranking or () if r.get("name") != CRISIS_INTENT)
    return (crisis_intent(),) + rest

"""Combine the two crisis signals: the deterministic detector and the trained NLU intent.

A message flagged by either escalates (a missed crisis is the worst failure; a false alarm is cheap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Tuple

CRISIS_INTENT = "crisis"
DEFAULT_MODEL_THRESHOLD = 0.4


@dataclass(frozen=True)
class CrisisSignal:
    escalate: bool
    detector: bool
    model: bool
    model_confidence: float


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

"""The risk assessment as the NLU component attaches it to a message's parse data, and back.

The component (rasa_ext/risk_component.py) runs the detector on every message; the actions read its result
from the parse data under `risk` instead of running the detector again. Reading is strict: anything not
exactly as written here gives None, and the caller then runs the detector itself (never a weaker check).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from bot.safety.detector import CATEGORY_ORDER, LANGUAGES, SEVERITY_ORDER, RiskAssessment
from bot.safety.signals import CrisisSignal

RISK_KEY = "risk"


def risk_parse_data(assessment: RiskAssessment, signal: CrisisSignal) -> dict:
    """What the component stores under `risk`: how the two signals combined, and the detector's assessment
    (`detector` is its is_risk)."""
    return {
        "escalate": signal.escalate,
        "detector": assessment.is_risk,
        "model": signal.model,
        "model_confidence": round(signal.model_confidence, 4),
        "categories": list(assessment.categories),
        "severity": assessment.severity,
        "language": assessment.language,
    }


def assessment_from_parse_data(parse_data: Any) -> Optional[RiskAssessment]:
    """The detector's assessment attached to `parse_data` (a message's parse data), or None when it is missing
    or not a consistent assessment (unknown category, severity or language, a risk without a category...)."""
    risk = parse_data.get(RISK_KEY) if isinstance(parse_data, Mapping) else None
    if not isinstance(risk, Mapping):
        return None
    is_risk, categories = risk.get("detector"), risk.get("categories")
    severity, language = risk.get("severity"), risk.get("language")
    if not isinstance(is_risk, bool) or not isinstance(categories, (list, tuple)) or language not in LANGUAGES:
        return None
    if not all(isinstance(c, str) and c in CATEGORY_ORDER for c in categories):
        return None
    consistent = (bool(categories) and severity in SEVERITY_ORDER) if is_risk else (not categories and severity is None)
    if not consistent:
        return None
    return RiskAssessment(is_risk=is_risk, categories=tuple(categories), severity=severity, language=language)

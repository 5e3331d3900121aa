"""The risk assessment as the NLU component attaches it to a message's parse data, and back.

The component (rasa_ext/risk_component.py) runs the detector on every message; the actions read its result
from the parse data under `risk` instead of running the detector again. Reading is strict: anything not
exactly as written here gives None, and the caller then runs the detector itself (never a weaker check).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from bot.safety.detector import CATEGORY_ORDER, LANGUAGES, SEVERITY_ORDER, RiskAssessment
from bot.safety.signals import LEVEL_CHECK, LEVEL_CRISIS, CrisisSignal

RISK_KEY = "risk"


def risk_parse_data(assessment: RiskAssessment, signal: CrisisSignal) -> dict:
    """What the component stores under `risk`: how the two signals combined, and the detector's assessment
    (`detector` is its is_risk). `level` says what the message reaches (bot/safety/signals.py): `crisis` the
    full reply and alert, `check` the check question first, `none` nothing; `confirmed` is level == crisis."""
    return {
        "escalate": signal.escalate,
        "level": signal.level,
        "confirmed": signal.confirmed,
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


def crisis_level_from_parse_data(parse_data: Any) -> str:
    """For a message routed to the crisis action: `check` (ask the check question first) or `crisis` (the full
    reply and alert). Fails towards the full reply: `check` only when the parse data says so exactly as the
    component writes it (level check, not confirmed, the model flagged it and the detector did not)."""
    risk = parse_data.get(RISK_KEY) if isinstance(parse_data, Mapping) else None
    is_check = (
        isinstance(risk, Mapping)
        and risk.get("level") == LEVEL_CHECK
        and risk.get("confirmed") is False
        and risk.get("escalate") is True
        and risk.get("model") is True
        and risk.get("detector") is False
    )
    return LEVEL_CHECK if is_check else LEVEL_CRISIS

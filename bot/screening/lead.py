"""The lead handed to the clinic, built only from answers validated at the question that asked them."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from bot.screening.answers import display_value
from bot.screening.content import CONTACT_CONSENT_ID
from bot.screening.content import content as default_content
from bot.screening.flow import screening_progress
from bot.screening.model import ScreeningProgress
from bot.screening.stored import valid_answers

# Contact answer id -> key in the lead's "contact" object.
_CONTACT_KEYS = {
    "contact_first_name": "first_name",
    "contact_phone": "phone",
    "contact_email": "email",
    "contact_method": "preferred_method",
    "contact_best_time": "best_time",
}


class NoConsentToContact(ValueError):
    """build_lead() was called for someone who did not agree to be contacted (or, a minor, cannot)."""


def _crisis(crisis: Optional[Mapping[str, object]]) -> Dict[str, object]:
    if not isinstance(crisis, Mapping):
        return {"flagged": False, "categories": []}
    raw = crisis.get("categories")
    categories = [str(c) for c in raw] if isinstance(raw, (list, tuple)) else []
    flag: Dict[str, object] = {"flagged": bool(crisis.get("flagged")) or bool(categories), "categories": categories}
    cssrs = crisis.get("cssrs")
    if isinstance(cssrs, Mapping):  # the C-SSRS screener's result, when it was asked (docs/events.md)
        flag["cssrs"] = dict(cssrs)
    denied = crisis.get("checks_denied")
    if isinstance(denied, int) and not isinstance(denied, bool) and denied > 0:  # check questions answered No
        flag["checks_denied"] = denied
    return flag


def contact_summary(answers: Mapping[str, object]) -> Dict[str, object]:
    """Whatever valid contact details are known so far (for crisis alerts); may be {}."""
    answers = valid_answers(answers)
    summary: Dict[str, object] = {}
    for qid, key in _CONTACT_KEYS.items():
        if qid in answers and answers[qid] is not None:
            summary[key] = answers[qid]
    if answers.get(CONTACT_CONSENT_ID) in ("yes", "no"):
        summary["consent_to_contact"] = answers[CONTACT_CONSENT_ID] == "yes"
    return summary


def build_lead(answers: Mapping[str, object], *, crisis: Optional[Mapping[str, object]] = None) -> dict:
    """The lead for the clinic. Raises NoConsentToContact (a ValueError) unless contact_consent is "yes"."""
    flagged = bool(_crisis(crisis)["flagged"])
    return lead_from_progress(screening_progress(answers, crisis_flag=flagged), crisis=crisis)


def lead_from_progress(progress: ScreeningProgress, *, crisis: Optional[Mapping[str, object]] = None) -> dict:
    """build_lead() from the turn's derived progress (flow.screening_progress), without deriving it again."""
    content = default_content()
    crisis_info = _crisis(crisis)
    if progress.crisis_flag != bool(crisis_info["flagged"]):
        # The outcome must be the one the crisis flag gives: derive it again rather than send the wrong one.
        progress = screening_progress(progress.answers, crisis_flag=bool(crisis_info["flagged"]), content=content)
    answers = progress.answers
    if progress.status == "minor":
        # The screening stops at age for a minor: whatever else a slot holds, it never becomes a lead.
        raise NoConsentToContact("no lead for a visitor under the minimum age")
    if answers.get(CONTACT_CONSENT_ID) != "yes":
        raise NoConsentToContact("no lead without an explicit yes to contact_consent")
    result = progress.result
    contact: Dict[str, object] = {key: answers.get(qid) for qid, key in _CONTACT_KEYS.items()}
    contact["consent_to_contact"] = True
    listed: List[dict] = []
    for qid, question in content.questions.items():
        if qid in answers:
            listed.append(
                {
                    "id": qid,
                    "question": question.text,
                    "answer": display_value(question, answers[qid]),
                    "value": answers[qid],
                }
            )
    # Conversation order (every branch of data/clinic/flow.yml), so the lead reads top to bottom.
    order = {qid: index for index, qid in enumerate(content.question_order)}
    listed.sort(key=lambda entry: order.get(entry["id"], len(order)))
    return {
        "outcome": result.outcome,
        "concern": answers.get("concern"),
        "age": answers.get("age"),
        "contact": contact,
        "scores": dict(result.scores),
        "answers": listed,
        "contraindications": list(result.contraindications),
        "reasons": list(result.reasons),
        "crisis": crisis_info,
    }

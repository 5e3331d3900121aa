"""The lead handed to the clinic, built only from answers validated at the question that asked them."""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from bot.screening.answers import display_value
from bot.screening.content import content as default_content
from bot.screening.outcome import decide_outcome
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
    """build_lead() was called for someone who did not agree to be contacted."""


def _crisis(crisis: Optional[Mapping[str, object]]) -> Dict[str, object]:
    if not isinstance(crisis, Mapping):
        return {"flagged": False, "categories": []}
    raw = crisis.get("categories")
    categories = [str(c) for c in raw] if isinstance(raw, (list, tuple)) else []
    return {"flagged": bool(crisis.get("flagged")) or bool(categories), "categories": categories}


def contact_summary(answers: Mapping[str, object]) -> Dict[str, object]:
    """Whatever valid contact details are known so far (for crisis alerts); may be {}."""
    answers = valid_answers(answers)
    summary: Dict[str, object] = {}
    for qid, key in _CONTACT_KEYS.items():
        if qid in answers and answers[qid] is not None:
            summary[key] = answers[qid]
    if answers.get("contact_consent") in ("yes", "no"):
        summary["consent_to_contact"] = answers["contact_consent"] == "yes"
    return summary


def build_lead(answers: Mapping[str, object], *, crisis: Optional[Mapping[str, object]] = None) -> dict:
    """The lead for the clinic. Raises NoConsentToContact (a ValueError) unless contact_consent is "yes"."""
    content = default_content()
    answers = valid_answers(answers, content)
    if answers.get("contact_consent") != "yes":
        raise NoConsentToContact("no lead without an explicit yes to contact_consent")
    crisis_info = _crisis(crisis)
    result = decide_outcome(answers, crisis_flag=bool(crisis_info["flagged"]), content=content)
    contact: Dict[str, object] = {key: answers.get(qid) for qid, key in _CONTACT_KEYS.items()}
    contact["consent_to_contact"] = True
    listed: List[dict] = []
    for qid, question in content.questions.items():
        if qid in answers:
            listed.append({"id": qid, "question": question.text,
                           "answer": display_value(question, answers[qid]), "value": answers[qid]})
    order = {qid: index for index, qid in enumerate(_answer_order(content))}
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


def _answer_order(content) -> List[str]:
    """Question ids in conversation order (every branch), for a lead that reads top to bottom."""
    ids = ["consent", "concern", "age"]
    for instrument in content.instruments:
        if instrument.gate_id:
            ids.append(instrument.gate_id)
        ids.extend(instrument.item_ids)
    ids.extend(["tx_antidepressants", "tx_therapy", "tx_current_meds"])
    ids.extend(rule.id for rule in content.contraindications)
    ids.extend(["contact_optin", *_CONTACT_KEYS, "contact_consent"])
    return ids

"""The pre-screen outcome: a pure function of the validated answers and the rules in eligibility.yml.

Order (first match wins): any absolute contraindication Yes -> not_eligible; any relative Yes (a checklist
item included), derived flag, "Not sure", crisis flag or PHQ-9 item 9 above 0 -> needs_review; any score
at/above its cut-off -> qualified; otherwise needs_review (the bot never rules anyone out on symptoms).
A history of failed antidepressants alone never qualifies: treatment-resistant depression means a current
episode as well, so below the cut-offs it goes to a clinician. Every finding is listed in `reasons` so staff
see all of it, not only the deciding one.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from bot.screening.checklist import NOT_SURE, picked_items
from bot.screening.content import ScreeningContent
from bot.screening.content import content as default_content
from bot.screening.medications import interacting_groups
from bot.screening.model import ScreeningResult
from bot.screening.scoring import instrument_scores, risk_item_positive
from bot.screening.stored import checked_answers

_ANSWER_WORDS = {"yes": "yes", "no": "no", "not_sure": "not_sure"}


def _reason(content: ScreeningContent, reason_id: str, key: str, **values: object) -> Dict[str, str]:
    template = str(content.eligibility.get("reason_texts", {}).get(key, key))
    text = template
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return {"id": reason_id, "text": text}


def contraindication_items(answers: Mapping[str, object], content: ScreeningContent) -> List[dict]:
    """Every contraindication asked, plus the derived ones (age 65+, interacting medicines) once known."""
    items: List[dict] = []
    for rule in content.contraindications:
        answer = answers.get(rule.id)
        if answer in _ANSWER_WORDS:
            items.append(
                {
                    "id": rule.id,
                    "label": rule.label,
                    "answer": _ANSWER_WORDS[answer],
                    "class": rule.cls,
                    "source": rule.source,
                }
            )
    if content.checklist_id and content.checklist_id in answers:
        value = answers[content.checklist_id]
        picked = picked_items(value)
        for rule in content.checklist_rules:
            answer = NOT_SURE if value == [NOT_SURE] else "yes" if rule.id in picked else "no"
            items.append(
                {"id": rule.id, "label": rule.label, "answer": answer, "class": rule.cls, "source": rule.source}
            )
    older = content.derived.get("older_adult")
    age = answers.get("age")
    if older and isinstance(age, int):
        items.append(
            {
                "id": older["id"],
                "label": older["label"],
                "answer": "yes" if age >= int(older["min_age"]) else "no",
                "class": older["class"],
                "source": " ".join(str(older["source"]).split()),
            }
        )
    meds_rule = content.derived.get("interacting_medication")
    meds = answers.get("tx_current_meds")
    if meds_rule and isinstance(meds, str):
        groups = interacting_groups(meds, content)
        label = meds_rule["label"] + (f" ({', '.join(groups)})" if groups else "")
        items.append(
            {
                "id": meds_rule["id"],
                "label": label,
                "answer": "yes" if groups else "no",
                "class": meds_rule["class"],
                "source": " ".join(str(meds_rule["source"]).split()),
            }
        )
    return items


def decide_outcome(
    answers: Mapping[str, object], *, crisis_flag: bool = False, content: Optional[ScreeningContent] = None
) -> ScreeningResult:
    """Decide qualified / needs_review / not_eligible from the answers given so far."""
    content = content or default_content()
    answers = checked_answers(answers, content)  # not checked again when they come from valid_answers()
    scores = instrument_scores(answers, content)
    items = contraindication_items(answers, content)
    derived_ids = {str(d.get("id")) for d in content.derived.values()}
    checklist_ids = {rule.id for rule in content.checklist_rules}

    absolute, review, symptoms = [], [], []
    for item in items:
        if item["answer"] == "yes" and item["class"] == "absolute":
            absolute.append(_reason(content, f"absolute_{item['id']}", "absolute", label=item["label"]))
        elif item["answer"] == "yes":
            key = "derived" if item["id"] in derived_ids else "relative"
            review.append(_reason(content, f"relative_{item['id']}", key, label=item["label"]))
        elif item["answer"] == "not_sure" and item["id"] not in checklist_ids:
            review.append(_reason(content, f"not_sure_{item['id']}", "not_sure", label=item["label"]))
    if content.checklist_id and answers.get(content.checklist_id) == [NOT_SURE]:
        # One reason for the whole checklist, not one for each of its lines.
        review.append(_reason(content, f"not_sure_{content.checklist_id}", "not_sure", label=content.checklist_label))
    if crisis_flag:
        review.append(_reason(content, "crisis_flag", "crisis_flag"))
    if content.eligibility.get("phq9_risk_item_reviews", True) and risk_item_positive(answers, content):
        review.append(_reason(content, "phq9_item9_positive", "phq9_item9_positive"))

    for instrument in content.instruments:
        score = scores.get(instrument.id)
        if score is not None and score >= instrument.cutoff:
            symptoms.append(
                _reason(
                    content,
                    f"{instrument.id}_at_or_above_cutoff",
                    "score_at_or_above_cutoff",
                    name=instrument.name,
                    score=score,
                    cutoff=instrument.cutoff,
                )
            )
    # Noted for the clinician either way; it never makes anyone qualified on its own (eligibility.yml).
    history = []
    option = content.questions["tx_antidepressants"].option(str(answers.get("tx_antidepressants")))
    minimum = int(content.eligibility["treatment_resistant_min_failed_antidepressants"])
    if option is not None and option.score is not None and option.score >= minimum:
        history.append(_reason(content, "treatment_resistant_history", "treatment_resistant_history", minimum=minimum))

    if absolute:
        outcome = "not_eligible"
    elif review:
        outcome = "needs_review"
    elif symptoms:
        outcome = "qualified"
    else:
        outcome = "needs_review"
    reasons = absolute + review + symptoms + history
    if not symptoms:
        reasons.append(_reason(content, "below_cutoffs", "below_cutoffs"))
    return ScreeningResult(outcome=outcome, scores=scores, contraindications=items, reasons=reasons)


def outcome_message(outcome: str, content: Optional[ScreeningContent] = None, *, crisis_flag: bool = False) -> str:
    """The kind, non-diagnostic sentence told to the visitor for an outcome. After risk came up, the visitor is
    never told infusions may not be right for them: `crisis_flagged` is said instead, whatever the outcome."""
    content = content or default_content()
    messages = content.eligibility.get("outcome_messages", {})
    if crisis_flag and "crisis_flagged" in messages:
        outcome = "crisis_flagged"
    return " ".join(str(messages.get(outcome, messages.get("needs_review", ""))).split())

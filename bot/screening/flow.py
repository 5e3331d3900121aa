"""The order of questions: what to ask next, given the validated answers so far.

One question per turn. The sequence is a pure function of the answers, so a question already answered is
never asked again and a conversation can resume from its stored answers alone.
"""
from __future__ import annotations

from typing import Dict, Iterator, Mapping, Optional

from bot.screening.content import ScreeningContent, content as default_content
from bot.screening.model import ParsedAnswer, Question, Step
from bot.screening.outcome import decide_outcome, outcome_message
from bot.screening.stored import valid_answers

ADULT_AGE = 18
CONTACT_QUESTIONS = (
    "contact_first_name", "contact_phone", "contact_email", "contact_method", "contact_best_time",
    "contact_consent",
)
TREATMENT_QUESTIONS = ("tx_antidepressants", "tx_therapy", "tx_current_meds")


def _sequence(answers: Mapping[str, object], content: ScreeningContent, crisis_flag: bool) -> Iterator[str]:
    """Question ids in order. The caller stops at the first unanswered one, so later branches may read the
    answers of earlier questions."""
    yield "consent"
    if answers.get("consent") != "yes":
        return
    yield "concern"
    yield "age"
    age = answers.get("age")
    if not isinstance(age, int) or age < ADULT_AGE:
        return
    concern = answers.get("concern")
    for instrument in content.instruments:
        if instrument.only_for_concern and instrument.only_for_concern != concern:
            continue
        if instrument.gate_id:
            yield instrument.gate_id
            if answers.get(instrument.gate_id) != "yes":
                continue
        yield from instrument.item_ids
    yield from TREATMENT_QUESTIONS
    for rule in content.contraindications:
        yield rule.id
    if decide_outcome(answers, crisis_flag=crisis_flag, content=content).outcome == "not_eligible":
        yield "contact_optin"
        if answers.get("contact_optin") != "yes":
            return
    yield from CONTACT_QUESTIONS


def _first_contact_question(answers: Mapping[str, object], content: ScreeningContent, crisis_flag: bool) -> str:
    outcome = decide_outcome(answers, crisis_flag=crisis_flag, content=content).outcome
    return "contact_optin" if outcome == "not_eligible" else CONTACT_QUESTIONS[0]


def next_step(answers: Mapping[str, object], *, crisis_flag: bool = False) -> Optional[Step]:
    """The next question and its preface, or None when there is nothing more to ask."""
    content = default_content()
    answers = valid_answers(answers, content)
    for question_id in _sequence(answers, content, crisis_flag):
        if question_id in answers:
            continue
        question = content.questions[question_id]
        preface = question.preface
        if question.section == "contact" and question_id == _first_contact_question(answers, content, crisis_flag):
            # The outcome is told once, kindly, right before the first contact question.
            outcome = decide_outcome(answers, crisis_flag=crisis_flag, content=content).outcome
            preface = (outcome_message(outcome, content),) + preface
        return Step(question=question, preface=preface)
    return None


def screening_status(answers: Mapping[str, object]) -> str:
    """"in_progress" | "declined" | "minor" | "complete" | "no_contact"."""
    content = default_content()
    answers = valid_answers(answers, content)
    if answers.get("consent") == "no":
        return "declined"
    age = answers.get("age")
    if isinstance(age, int) and age < ADULT_AGE:
        return "minor"
    if next_step(answers) is not None:
        return "in_progress"
    return "complete" if answers.get("contact_consent") == "yes" else "no_contact"


def question_by_id(question_id: str) -> Question:
    """The question with this id; KeyError (with the id) if there is none."""
    questions = default_content().questions
    if question_id not in questions:
        raise KeyError(f"unknown screening question: {question_id!r}")
    return questions[question_id]


def record_answer(answers: Mapping[str, object], question: Question, parsed: ParsedAnswer) -> Dict[str, object]:
    """A NEW dict with the parsed value stored under the question's id (unchanged if the reply was not ok)."""
    updated: Dict[str, object] = dict(answers or {})
    if parsed.ok:
        updated[question.id] = parsed.value
    return updated

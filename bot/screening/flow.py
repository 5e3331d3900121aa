"""The order of questions: what to ask next, given the validated answers so far.

The order and its branches are data (data/clinic/flow.yml `flow:`, read by bot.screening.content); this module
walks them. One question per turn. The walk is a pure function of the answers, so a question already answered
is never asked again and a conversation can resume from its stored answers alone.

`screening_progress()` derives everything a turn needs (valid answers, outcome, next step, status) once;
`next_step()` and `screening_status()` are views of it.
"""

from __future__ import annotations

from typing import Dict, Iterator, Mapping, NamedTuple, Optional

from bot.screening.checklist import picked_items
from bot.screening.content import (
    ASK,
    CONTACT_CONSENT_ID,
    CONTRAINDICATIONS,
    INSTRUMENTS,
    TELL_OUTCOME,
    FlowStep,
    ScreeningContent,
)
from bot.screening.content import content as default_content
from bot.screening.model import ParsedAnswer, Question, ScreeningProgress, Step
from bot.screening.outcome import decide_outcome, outcome_message
from bot.screening.stored import valid_answers


class _Position(NamedTuple):
    """Where the walk through the flow stopped."""

    question_id: Optional[str]  # the first unanswered question reached; None when nothing is left to ask
    tell_outcome: bool  # the outcome goes before that question
    status: str


def _step_question_ids(step: FlowStep, answers: Mapping[str, object], content: ScreeningContent) -> Iterator[str]:
    """The questions a step asks, in order. The caller stops at the first unanswered one, so later ids may
    depend on the answers to earlier ones (an instrument's gate question)."""
    if step.kind == ASK and step.question_id:
        yield step.question_id
    elif step.kind == INSTRUMENTS:
        concern = answers.get("concern")
        for instrument in content.instruments:
            if instrument.only_for_concern and instrument.only_for_concern != concern:
                continue
            if instrument.gate_id:
                yield instrument.gate_id
                if answers.get(instrument.gate_id) != "yes":
                    continue
            yield from instrument.item_ids
    elif step.kind == CONTRAINDICATIONS:
        for rule in content.contraindications:
            yield rule.id
        if content.checklist_id:
            yield content.checklist_id
            # Reached only once the checklist is answered: a follow-up only where its item was picked.
            picked = picked_items(answers.get(content.checklist_id))
            for item_id, follow_up_id in content.checklist_follow_ups.items():
                if item_id in picked:
                    yield follow_up_id


def _end_status(answers: Mapping[str, object]) -> str:
    return "complete" if answers.get(CONTACT_CONSENT_ID) == "yes" else "no_contact"


def _walk(answers: Mapping[str, object], outcome: str, content: ScreeningContent) -> _Position:
    """Follow the flow past every answered question to the first unanswered one, or to a stop, or to its end."""
    tell_outcome = False
    for step in content.flow:
        if step.kind == TELL_OUTCOME:
            tell_outcome = True
            continue
        if step.only_if_outcome and step.only_if_outcome != outcome:
            continue
        for question_id in _step_question_ids(step, answers, content):
            if question_id not in answers:
                return _Position(question_id, tell_outcome, "in_progress")
            tell_outcome = False  # told once, before the first question reached after tell_outcome
        # Every question of the step is answered by now; a stop (ask steps only) reads that answer.
        if step.stop and step.question_id is not None and step.stop.applies(answers[step.question_id]):
            return _Position(None, False, step.stop.status or _end_status(answers))
    return _Position(None, False, _end_status(answers))


def screening_progress(
    answers: Optional[Mapping[str, object]], *, crisis_flag: bool = False, content: Optional[ScreeningContent] = None
) -> ScreeningProgress:
    """The screening's state derived from its stored answers: valid answers, outcome, next step and status.

    Derive it once per turn and pass it on: it runs valid_answers() and decide_outcome() once each.
    """
    content = content or default_content()
    valid = valid_answers(answers, content)
    result = decide_outcome(valid, crisis_flag=crisis_flag, content=content)
    position = _walk(valid, result.outcome, content)
    step = None
    if position.question_id is not None:
        question = content.questions[position.question_id]
        preface = question.preface
        if position.tell_outcome:
            # The outcome is told once, kindly, before the first question after `tell_outcome` in the flow.
            preface = (outcome_message(result.outcome, content, crisis_flag=crisis_flag),) + preface
        step = Step(question=question, preface=preface)
    return ScreeningProgress(
        answers=valid, result=result, next_step=step, status=position.status, crisis_flag=crisis_flag
    )


def next_step(
    answers: Optional[Mapping[str, object]], *, crisis_flag: bool = False, content: Optional[ScreeningContent] = None
) -> Optional[Step]:
    """The next question and its preface, or None when there is nothing more to ask."""
    return screening_progress(answers, crisis_flag=crisis_flag, content=content).next_step


def screening_status(answers: Optional[Mapping[str, object]], *, content: Optional[ScreeningContent] = None) -> str:
    """ "in_progress" | "declined" | "minor" | "complete" | "no_contact"."""
    return screening_progress(answers, content=content).status


def question_by_id(question_id: str, content: Optional[ScreeningContent] = None) -> Question:
    """The question with this id; KeyError (with the id) if there is none."""
    questions = (content or default_content()).questions
    if question_id not in questions:
        raise KeyError(f"unknown screening question: {question_id!r}")
    return questions[question_id]


def record_answer(answers: Mapping[str, object], question: Question, parsed: ParsedAnswer) -> Dict[str, object]:
    """A NEW dict with the parsed value stored under the question's id (unchanged if the reply was not ok)."""
    updated: Dict[str, object] = dict(answers or {})
    if parsed.ok:
        updated[question.id] = parsed.value
    return updated

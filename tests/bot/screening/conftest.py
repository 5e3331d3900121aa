"""Shared helpers: drive the screening the way the Rasa form does (one reply per question)."""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Optional

import pytest

from bot.screening.answers import parse_answer
from bot.screening.content import ScreeningContent
from bot.screening.flow import next_step, record_answer


def default_reply(question_id: str) -> str:
    """A plausible reply for any question: moderate symptoms, no health problems, contact consent yes."""
    fixed = {
        "consent": "Yes",
        "concern": "Depression",
        "age": "40",
        "tx_antidepressants": "1",
        "tx_therapy": "Yes",
        "tx_current_meds": "none",
        "contact_optin": "Yes",
        "contact_first_name": "Ana",
        "contact_phone": "818-555-0134",
        "contact_email": "ana@example.com",
        "contact_method": "Call",
        "contact_best_time": "Morning",
        "contact_consent": "Yes",
        "pcptsd5_trauma": "Yes",
    }
    if question_id in fixed:
        return fixed[question_id]
    if question_id.startswith(("gad7_", "phq9_", "oci4_")):
        return "Not at all"
    if question_id.startswith("pcptsd5_"):
        return "No"
    if question_id.startswith("ci_"):
        return "No"
    raise AssertionError(f"no default reply for {question_id}")


def reply_to(question_id: str, replies: Mapping[str, str]) -> str:
    return replies[question_id] if question_id in replies else default_reply(question_id)


def run(
    replies: Optional[Mapping[str, str]] = None,
    *,
    crisis_flag: bool = False,
    limit: int = 80,
    content: Optional[ScreeningContent] = None,
) -> Dict[str, object]:
    """Answer every question asked (reply from `replies`, else default_reply); return the answers."""
    replies = dict(replies or {})
    answers: Dict[str, object] = {}
    for _ in range(limit):
        step = next_step(answers, crisis_flag=crisis_flag, content=content)
        if step is None:
            return answers
        question = step.question
        assert question.id not in answers, f"{question.id} asked twice"
        parsed = parse_answer(question, reply_to(question.id, replies))
        assert parsed.ok, (question.id, parsed.error)
        answers = record_answer(answers, question, parsed)
    raise AssertionError("the screening did not finish")


def asked_order(replies: Optional[Mapping[str, str]] = None, content: Optional[ScreeningContent] = None) -> list:
    """The question ids in the order they were asked (by the shipped clinic, or by `content`)."""
    replies = dict(replies or {})
    answers: Dict[str, object] = {}
    order = []
    while True:
        step = next_step(answers, content=content)
        if step is None:
            return order
        order.append(step.question.id)
        parsed = parse_answer(step.question, reply_to(step.question.id, replies))
        answers = record_answer(answers, step.question, parsed)


@pytest.fixture
def run_screening() -> Callable[..., Dict[str, object]]:
    return run


@pytest.fixture
def order_of() -> Callable[..., list]:
    return asked_order


@pytest.fixture(name="default_reply")
def default_reply_fixture() -> Callable[[str], str]:
    return default_reply


def answers_before(question_id: str, replies: Optional[Mapping[str, str]] = None) -> Dict[str, object]:
    """The answers given (default_reply, or `replies`) up to the moment `question_id` is asked."""
    replies = dict(replies or {})
    answers: Dict[str, object] = {}
    while True:
        step = next_step(answers)
        if step is None:
            raise AssertionError(f"{question_id} was never asked")
        if step.question.id == question_id:
            return answers
        answers = record_answer(
            answers, step.question, parse_answer(step.question, reply_to(step.question.id, replies))
        )

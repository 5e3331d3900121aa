"""A simulated visitor: answers whatever question the assistant asks, from a persona keyed by question id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from bot.safety.cssrs import screener
from bot.safety.episode import (
    ASK_CALLBACK,
    ASK_CONTINUE,
    ASK_SAFE,
    CALLBACK_PHONE,
    CHECK_IN,
    CSSRS_QUESTION_PREFIX,
    RISK_CHECK,
    CrisisState,
    followup_question,
)
from bot.screening.content import content


def _crisis_questions() -> Dict[str, str]:
    """Text -> id of the crisis follow-up questions, in both languages, and the C-SSRS items."""
    questions = {}
    for language in ("en", "es"):
        for stage in (ASK_SAFE, ASK_CONTINUE, ASK_CALLBACK, CALLBACK_PHONE, CHECK_IN):
            question = followup_question(CrisisState(open=True, stage=stage, language=language))
            questions[question.text] = question.id
        check = followup_question(CrisisState(stage=RISK_CHECK, language=language))
        questions[check.text] = check.id  # the check question (only the model flagged a message)
    for item in screener().items:
        questions[item.text] = CSSRS_QUESTION_PREFIX + item.id
    return questions


CRISIS_QUESTIONS = _crisis_questions()


def question_id(text: str) -> Optional[str]:
    for question in content().questions.values():
        if question.text == text:
            return question.id
    return CRISIS_QUESTIONS.get(text)


def asked(messages: List[dict]) -> Optional[str]:
    """The id of the last question in the bot's reply, if any."""
    for message in reversed(messages):
        qid = question_id(message.get("text") or "")
        if qid:
            return qid
    return None


def buttons(messages: List[dict]) -> List[dict]:
    for message in reversed(messages):
        if message.get("buttons"):
            return message["buttons"]
    return []


@dataclass
class Visitor:
    say: Callable[[str, str], List[dict]]
    persona: Dict[str, str]
    sender: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:12]}")
    transcript: List[tuple] = field(default_factory=list)

    def answer_for(self, qid: str) -> str:
        if qid in self.persona:
            return self.persona[qid]
        prefix = qid.split("_")[0]
        if prefix in self.persona:
            return self.persona[prefix]
        raise AssertionError(f"persona has no answer for {qid}; transcript: {self.transcript[-4:]}")

    def send(self, text: str) -> List[dict]:
        messages = self.say(self.sender, text)
        self.transcript.append((text, [m.get("text") for m in messages]))
        return messages

    def run(self, first: str = "hi", max_turns: int = 80) -> List[dict]:
        """Talk until the assistant asks nothing more; returns its last messages."""
        messages = self.send(first)
        for _ in range(max_turns):
            qid = asked(messages)
            if qid is None:
                return messages
            messages = self.send(self.answer_for(qid))
        raise AssertionError(f"conversation did not end in {max_turns} turns: {self.transcript[-5:]}")

"""What a message outside the screening gets before the screening starts (or resumes) from it.

The rule for clinic questions (intent `faq`) answers them first. A question the intent classifier called
something else ("I'm a nurse and I work nights, do you have evening hours?" came out `inform`, for the word
"evening") is still answered when it is shaped like a question and the response selector, trained on clinic
questions only, is confident about its topic. Only for ordinary intents: crisis and control intents have rules
of their own, and a reply inside the screening is the form's to judge.
"""

from __future__ import annotations

from typing import Optional

from bot.conversation import looks_like_question

# Intents of the rule that starts the screening from an ordinary message (data/rules/screening.yml) whose
# message may still be a clinic question.
MISREAD_QUESTION_INTENTS = frozenset({"greet", "inform", "out_of_scope", "nlu_fallback"})
# The response selector's confidence in its topic for such a message to be answered with that topic. High on
# purpose: a wrong answer confuses more than no answer (the introduction follows, and any later question works).
TOPIC_CONFIDENCE = 0.9


def misread_clinic_question(intent: Optional[str], text: str, topic: Optional[str], topic_confidence: float) -> bool:
    """Should this message, outside the screening and not classified `faq`, get the answer for `topic`?"""
    return (
        intent in MISREAD_QUESTION_INTENTS
        and topic is not None
        and topic_confidence >= TOPIC_CONFIDENCE
        and looks_like_question(text)
    )

"""Is a reply an explicit wish to stop, or an attempt at a scale answer? (data/clinic/stop_words.yml)

The classifier alone must not end a screening: it reads "quite a bit" as `stop` (issue 14). These lists let
bot.conversation.is_answer_attempt keep such replies with the question. Pure and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Tuple, Union

from bot.safety.normalize import normalize
from bot.yaml_files import read_yaml_mapping

DEFAULT_STOP_WORDS_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "stop_words.yml"
# "I can't stop worrying", "don't stop": a negated stop word is part of an answer, not a request.
_NEGATORS = frozenset({"cant", "cannot", "not", "dont", "never", "unable", "wont", "couldnt", "without"})
_DIGIT = re.compile(r"\d")


class StopWordsError(ValueError):
    """data/clinic/stop_words.yml is missing a list."""


@dataclass(frozen=True)
class StopWords:
    stop_phrases: Tuple[str, ...]
    amount_words: Tuple[str, ...]


def _phrases(value: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
        raise StopWordsError(f"stop words: {where} must be a non-empty list of quoted strings")
    return tuple(p for p in (normalize(v).strip(" .") for v in value) if p)


def load_stop_words(path: Union[str, Path, None] = None) -> StopWords:
    data = read_yaml_mapping(path or DEFAULT_STOP_WORDS_PATH, StopWordsError, "stop words")
    return StopWords(
        stop_phrases=_phrases(data.get("stop_phrases"), "stop_phrases"),
        amount_words=_phrases(data.get("amount_words"), "amount_words"),
    )


@lru_cache(maxsize=1)
def stop_words() -> StopWords:
    return load_stop_words()


def _words(text: str) -> list[str]:
    return [w for w in normalize(text).split() if w != "."]


def _find(words: list[str], phrase: str) -> list[int]:
    parts = phrase.split()
    return [i for i in range(len(words) - len(parts) + 1) if words[i : i + len(parts)] == parts]


def says_stop(text: str, words: StopWords | None = None) -> bool:
    """The reply holds an explicit stop phrase not negated just before it ("stop", "I want to stop", "can we
    stop", "bye"; not "I can't stop worrying")."""
    words = words or stop_words()
    tokens = _words(text)
    for phrase in words.stop_phrases:
        for start in _find(tokens, phrase):
            if not any(w in _NEGATORS for w in tokens[max(0, start - 2) : start]):
                return True
    return False


def is_scale_like(text: str, words: StopWords | None = None) -> bool:
    """The reply holds an amount or frequency word or a digit ("quite a bit", "3"): an attempt at an answer."""
    words = words or stop_words()
    if _DIGIT.search(text):
        return True
    tokens = _words(text)
    return any(_find(tokens, phrase) for phrase in words.amount_words)

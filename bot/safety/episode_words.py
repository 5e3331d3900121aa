"""The phrase lists a crisis episode reads replies with (data/clinic/episode_words.yml). Pure and deterministic.

Phrases and replies go through the detector's normalisation (bot/safety/normalize.py), so "I'm", "im" and
"I am" are one form, and match on whole words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Tuple, Union

from bot.safety.detector import RiskAssessment
from bot.safety.normalize import normalize
from bot.yaml_files import read_yaml_mapping

DEFAULT_WORDS_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "episode_words.yml"
LANGUAGES: Tuple[str, ...] = ("en", "es")

# In an episode a reference to means, a decision or a time is a plan in that context: the plan reply, severity
# at the top of SEVERITY_ORDER.
EPISODE_RISK_CATEGORY = "suicide_plan"


class EpisodeWordsError(ValueError):
    """data/clinic/episode_words.yml is missing a list."""


@dataclass(frozen=True)
class EpisodeWords:
    episode_risk: Tuple[Tuple[str, str], ...]  # (language, normalised phrase)
    misunderstanding: Tuple[str, ...]
    item9_clear_no: Tuple[str, ...]
    resume: Tuple[str, ...]
    stop: Tuple[str, ...]
    check_clear_no: Tuple[str, ...] = ()
    language_cues: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()  # (language, normalised words)
    callback_withdraw: Tuple[str, ...] = ()


def _phrases(value: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise EpisodeWordsError(f"episode words: missing list {where}")
    return tuple(p for p in (normalize(str(v)) for v in value) if p)


def parse_episode_words(data: Mapping[str, Any]) -> EpisodeWords:
    risk, misunderstanding = data.get("episode_risk") or {}, data.get("misunderstanding") or {}
    return EpisodeWords(
        episode_risk=tuple(
            (language, phrase)
            for language in LANGUAGES
            for phrase in _phrases(risk.get(language), f"episode_risk.{language}")
        ),
        misunderstanding=tuple(
            phrase for language in LANGUAGES for phrase in _phrases(misunderstanding.get(language), "misunderstanding")
        ),
        item9_clear_no=_phrases(data.get("item9_clear_no"), "item9_clear_no"),
        resume=_phrases(data.get("resume_words"), "resume_words"),
        stop=_phrases(data.get("stop_words"), "stop_words"),
        check_clear_no=tuple(
            phrase
            for language in LANGUAGES
            for phrase in _phrases((data.get("check_clear_no") or {}).get(language), f"check_clear_no.{language}")
        ),
        callback_withdraw=tuple(
            phrase
            for language in LANGUAGES
            for phrase in _phrases((data.get("callback_withdraw") or {}).get(language), f"callback_withdraw.{language}")
        ),
        language_cues=tuple(
            (language, _phrases((data.get("language_cues") or {}).get(language), f"language_cues.{language}"))
            for language in LANGUAGES
        ),
    )


def load_episode_words(path: Union[str, Path, None] = None) -> EpisodeWords:
    return parse_episode_words(read_yaml_mapping(path or DEFAULT_WORDS_PATH, EpisodeWordsError, "episode words"))


@lru_cache(maxsize=1)
def episode_words() -> EpisodeWords:
    return load_episode_words()


def _contains(norm: str, phrase: str) -> bool:
    return f" {phrase} " in f" {norm} "


def episode_risk(text: str, words: EpisodeWords | None = None) -> RiskAssessment | None:
    """New risk in a reply inside an episode ("the pills are right next to me"), or None."""
    words = words or episode_words()
    norm = normalize(text)
    for language, phrase in words.episode_risk:
        if _contains(norm, phrase):
            return RiskAssessment(
                is_risk=True, categories=(EPISODE_RISK_CATEGORY,), severity="imminent", language=language
            )
    return None


def says_misunderstanding(text: str, words: EpisodeWords | None = None) -> bool:
    """ "I'm not suicidal, I just have PTSD", "that's not what I meant"."""
    words = words or episode_words()
    norm = normalize(text)
    return any(_contains(norm, phrase) for phrase in words.misunderstanding)


def _whole_reply(text: str) -> str:
    return " ".join(normalize(text).replace(" . ", " ").split()).strip(" .")


def is_clear_not_at_all(text: str, words: EpisodeWords | None = None) -> bool:
    """At PHQ-9 item 9: the whole reply is a clear "Not at all" (anything else counts as positive)."""
    words = words or episode_words()
    return _whole_reply(text) in words.item9_clear_no


def is_clear_check_no(text: str, words: EpisodeWords | None = None) -> bool:
    """At the check question: the whole reply is a clear No ("no", "nope", "no, just anxious"). "no one cares"
    or "no, not really" are not: anything but a clear No escalates."""
    words = words or episode_words()
    return _whole_reply(text) in words.check_clear_no


def withdraws_callback(text: str, words: EpisodeWords | None = None) -> bool:
    """At the call-back phone question: "no", "never mind", "I don't want a call"."""
    words = words or episode_words()
    norm = normalize(text)
    return any(_contains(norm, phrase) for phrase in words.callback_withdraw)


def asks_to_resume(text: str, words: EpisodeWords | None = None) -> bool:
    words = words or episode_words()
    return any(_contains(normalize(text), phrase) for phrase in words.resume)


def asks_to_stop(text: str, words: EpisodeWords | None = None) -> bool:
    words = words or episode_words()
    return " ".join(normalize(text).split()).strip(" .") in words.stop


def likely_language(text: str, words: EpisodeWords | None = None) -> str:
    """ "es" when the reply has more of the Spanish cue words than of the English ones, else "en"."""
    words = words or episode_words()
    norm = normalize(text)
    hits = {language: sum(_contains(norm, cue) for cue in cues) for language, cues in words.language_cues}
    return "es" if hits.get("es", 0) > hits.get("en", 0) else "en"

"""Safe-messaging crisis replies (data/clinic/crisis_responses.yml) for a RiskAssessment.

Every reply is one paragraph (Rasa's Twilio output would split "\n\n" into separate SMS) and carries 988,
741741 and 911. The caller asks "Are you safe right now?" separately and then uses `followup_reply`.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

from bot.safety.detector import CATEGORY_ORDER, RiskAssessment
from bot.yaml_files import read_yaml

DEFAULT_RESPONSES_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "crisis_responses.yml"
LANGUAGES: tuple[str, ...] = ("en", "es")
FOLLOWUP_KINDS: tuple[str, ...] = ("unsafe_now", "safe_now")
QUESTION_KEYS: tuple[str, ...] = (
    "safe",
    "safe_guidance",
    "safe_options",
    "continue",
    "continue_guidance",
    "continue_options",
    "resume",
)
# Categories whose specific resource (Poison Control, the DV hotline) is added whenever they match.
EXTRA_CATEGORIES: tuple[str, ...] = ("overdose", "danger_from_others")

_SPACES = re.compile(r"\s+")

# Said only when even crisis_responses.yml cannot be read: the visitor must get the crisis numbers whatever
# fails, so this one text lives in code. The clinic-reviewed wording is `fallback` in the data file.
LAST_RESORT_CRISIS_REPLY = (
    "I'm really glad you told me. You don't have to go through this alone. Please call or text 988 now to talk "
    "with someone (Veterans: call 988 and press 1, or text 838255), or text HOME to 741741. If you are in "
    "immediate danger, call 911 or go to the nearest emergency room. I have let our clinic team know."
)

logger = logging.getLogger(__name__)


class ResponsesError(ValueError):
    """The responses file is missing a text or has one that breaks the one-paragraph rule."""


def _text(block: Any, key: str, where: str) -> str:
    value = block.get(key) if isinstance(block, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ResponsesError(f"crisis responses: missing text {where}.{key}")
    return _SPACES.sub(" ", value).strip()  # one paragraph, whatever the YAML layout


def parse_responses(data: Any) -> dict[str, dict[str, Any]]:
    """Check and flatten the document per language: openings, extras, resources, staff_notified, repeat,
    fallback, followup, questions."""
    if not isinstance(data, dict):
        raise ResponsesError("crisis responses: expected a mapping of languages")
    parsed: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        block = data.get(language)
        if not isinstance(block, dict):
            raise ResponsesError(f"crisis responses: missing language {language!r}")
        parsed[language] = {
            "openings": {
                c: _text(block.get("openings"), c, f"{language}.openings") for c in (*CATEGORY_ORDER, "general")
            },
            "extras": {c: _text(block.get("extras"), c, f"{language}.extras") for c in EXTRA_CATEGORIES},
            "resources": _text(block, "resources", language),
            "staff_notified": _text(block, "staff_notified", language),
            "repeat": _text(block, "repeat", language),
            "fallback": _text(block, "fallback", language),
            "followup": {k: _text(block.get("followup"), k, f"{language}.followup") for k in FOLLOWUP_KINDS},
            "questions": {k: _text(block.get("questions"), k, f"{language}.questions") for k in QUESTION_KEYS},
        }
    return parsed


def load_responses(path: Union[str, Path, None] = None) -> dict[str, dict[str, Any]]:
    responses_path = Path(path) if path is not None else DEFAULT_RESPONSES_PATH
    return parse_responses(read_yaml(responses_path, ResponsesError, "crisis responses"))


@lru_cache(maxsize=1)
def _default_responses() -> dict[str, dict[str, Any]]:
    return load_responses()


def _language(language: Any) -> str:
    return language if language in LANGUAGES else "en"


def crisis_reply(assessment: RiskAssessment, *, repeat: bool = False) -> str:
    """The one-paragraph crisis reply for `assessment` in its language.

    The opening follows the most severe category; overdose and danger_from_others add their own resource
    whenever they matched (as the main category or alongside a more severe one). `repeat=True` gives the
    short reply for further risk messages in the same episode. A no-risk assessment or an unknown category
    ("unspecified", "phq9_item9") gets the general crisis reply: never fail on the safety path.
    """
    texts = _default_responses()[_language(getattr(assessment, "language", "en"))]
    if repeat:
        return texts["repeat"]
    categories = [c for c in getattr(assessment, "categories", ()) if c in CATEGORY_ORDER]
    primary = categories[0] if categories else "general"
    parts = [texts["openings"][primary]]
    parts += [texts["extras"][c] for c in EXTRA_CATEGORIES if c in categories]
    parts += [texts["resources"], texts["staff_notified"]]
    return " ".join(parts)


def fallback_reply(language: str = "en") -> str:
    """The plain crisis reply sent when composing `crisis_reply` fails. Never raises: when the data cannot be
    read either, it is LAST_RESORT_CRISIS_REPLY."""
    try:
        return str(_default_responses()[_language(language)]["fallback"])
    except Exception:  # on the crisis path any failure still gets the numbers out
        logger.error("crisis responses unreadable; sent the last-resort crisis reply", exc_info=True)
        return LAST_RESORT_CRISIS_REPLY


def followup_reply(kind: str, language: str = "en") -> str:
    """Reply to the answer to "Are you safe right now?": kind is "unsafe_now" or "safe_now"."""
    if kind not in FOLLOWUP_KINDS:
        raise ValueError(f"unknown follow-up kind {kind!r}; expected one of {', '.join(FOLLOWUP_KINDS)}")
    return _default_responses()[_language(language)]["followup"][kind]


def question_texts(language: str = "en") -> dict[str, Any]:
    """Wording of the crisis follow-up questions; `*_options` come back as a tuple of button titles."""
    texts: dict[str, Any] = dict(_default_responses()[_language(language)]["questions"])
    for key in ("safe_options", "continue_options"):
        texts[key] = tuple(part.strip() for part in texts[key].split("|"))
    return texts

"""Safe-messaging crisis replies (data/clinic/crisis_responses.yml) for a RiskAssessment.

Every reply is one paragraph (Rasa's Twilio output would split "\n\n" into separate SMS) and carries 988,
741741 and 911. The caller asks "Are you safe right now?" separately and then uses `followup_reply`.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Union

from bot.clinic_hours import StaffAvailability
from bot.safety.detector import CATEGORY_ORDER, RiskAssessment
from bot.yaml_files import read_yaml

DEFAULT_RESPONSES_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "clinic" / "crisis_responses.yml"
LANGUAGES: tuple[str, ...] = ("en", "es")
FOLLOWUP_KINDS: tuple[str, ...] = ("unsafe_now", "not_sure_now", "safe_now")
# Follow-ups that escalate: staff got a new alert, so the staff sentence is added.
ESCALATING_FOLLOWUPS: tuple[str, ...] = ("unsafe_now", "not_sure_now")
QUESTION_KEYS: tuple[str, ...] = (
    "safe",
    "safe_guidance",
    "safe_options",
    "continue",
    "continue_guidance",
    "continue_options",
    "resume",
)
EPISODE_KEYS: tuple[str, ...] = (
    "cssrs_high",
    "cssrs_positive",
    "cssrs_negative",
    "callback_offer",
    "callback_offer_guidance",
    "callback_offer_options",
    "callback_phone",
    "callback_phone_guidance",
    "callback_known_phone",
    "callback_known_phone_guidance",
    "callback_known_phone_options",
    "callback_sent",
    "callback_sent_closed",
    "callback_failed",
    "callback_declined",
    "check_in",
    "check_in_guidance",
    "misunderstanding",
    "faq_988",
    "risk_check",
    "risk_check_guidance",
    "risk_check_options",
    "risk_denied",
)
# The episode texts that are questions (with their guidance and buttons); the rest are replies.
EPISODE_QUESTION_KEYS: tuple[str, ...] = tuple(
    k
    for k in EPISODE_KEYS
    if k.startswith(("callback_offer", "callback_phone", "callback_known_phone", "check_in", "risk_check"))
)
# Categories whose specific resource (Poison Control, the DV hotline) is added whenever they match.
EXTRA_CATEGORIES: tuple[str, ...] = ("overdose", "danger_from_others")

_SPACES = re.compile(r"\s+")

# Said only when even crisis_responses.yml cannot be read: the visitor must get the crisis numbers whatever
# fails, so this one text lives in code. The clinic-reviewed wording is `fallback` in the data file.
LAST_RESORT_CRISIS_REPLY = (
    "I'm really glad you told me. You don't have to go through this alone. Please call or text 988 now to talk "
    "with someone (Veterans: call 988 and press 1, or text 838255), or text HOME to 741741. If you are in "
    "immediate danger, call 911 or go to the nearest emergency room. I have sent a note to our clinic team."
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
            "staff_notified_closed": _text(block, "staff_notified_closed", language),
            "repeat": _text(block, "repeat", language),
            "fallback": _text(block, "fallback", language),
            "followup": {k: _text(block.get("followup"), k, f"{language}.followup") for k in FOLLOWUP_KINDS},
            "questions": {k: _text(block.get("questions"), k, f"{language}.questions") for k in QUESTION_KEYS},
            "episode": {k: _text(block.get("episode"), k, f"{language}.episode") for k in EPISODE_KEYS},
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


def staff_sentence(language: str = "en", staff: Optional[StaffAvailability] = None) -> str:
    """What a reply may truthfully say about the clinic team: told (open now), or a note they will see when
    they next open, with 988 there now. Without availability (None) it is the open-hours sentence."""
    texts = _default_responses()[_language(language)]
    if staff is None or staff.open_now:
        return str(texts["staff_notified"])
    closed = str(texts["staff_notified_closed"])
    if staff.next_open:
        return closed.replace("{next_open}", staff.next_open)
    # No usable opening hours: never promise a time.
    return closed.split(".")[0] + "." + closed.split(".", 2)[-1]


def crisis_reply(assessment: RiskAssessment, *, repeat: bool = False, staff: Optional[StaffAvailability] = None) -> str:
    """The one-paragraph crisis reply for `assessment` in its language.

    The opening follows the most severe category; overdose and danger_from_others add their own resource
    whenever they matched (as the main category or alongside a more severe one). `repeat=True` gives the
    short reply for further risk messages in the same episode. A no-risk assessment or an unknown category
    ("unspecified", "phq9_item9") gets the general crisis reply: never fail on the safety path. `staff` says
    whether the clinic is open now (bot/clinic_hours.py), so the staff sentence is true.
    """
    language = _language(getattr(assessment, "language", "en"))
    texts = _default_responses()[language]
    if repeat:
        return f"{texts['repeat']} {staff_sentence(language, staff)}"
    categories = [c for c in getattr(assessment, "categories", ()) if c in CATEGORY_ORDER]
    primary = categories[0] if categories else "general"
    parts = [texts["openings"][primary]]
    parts += [texts["extras"][c] for c in EXTRA_CATEGORIES if c in categories]
    parts += [texts["resources"], staff_sentence(language, staff)]
    return " ".join(parts)


def fallback_reply(language: str = "en") -> str:
    """The plain crisis reply sent when composing `crisis_reply` fails. Never raises: when the data cannot be
    read either, it is LAST_RESORT_CRISIS_REPLY."""
    try:
        return str(_default_responses()[_language(language)]["fallback"])
    except Exception:  # on the crisis path any failure still gets the numbers out
        logger.error("crisis responses unreadable; sent the last-resort crisis reply", exc_info=True)
        return LAST_RESORT_CRISIS_REPLY


def followup_reply(kind: str, language: str = "en", staff: Optional[StaffAvailability] = None) -> str:
    """Reply to the answer to "Are you safe right now?": "unsafe_now", "not_sure_now" (both escalate: the staff
    sentence follows) or "safe_now"."""
    if kind not in FOLLOWUP_KINDS:
        raise ValueError(f"unknown follow-up kind {kind!r}; expected one of {', '.join(FOLLOWUP_KINDS)}")
    text = str(_default_responses()[_language(language)]["followup"][kind])
    if kind in ESCALATING_FOLLOWUPS:
        text = f"{text} {staff_sentence(language, staff)}"
    return text


def episode_text(key: str, language: str = "en", **values: str) -> str:
    """One of the episode texts (`episode:` in the data), with {placeholders} filled from `values`."""
    text = str(_default_responses()[_language(language)]["episode"][key])
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def question_texts(language: str = "en") -> dict[str, Any]:
    """Wording of the crisis follow-up questions; `*_options` come back as a tuple of button titles."""
    block = _default_responses()[_language(language)]
    asked = {k: v for k, v in block["episode"].items() if k in EPISODE_QUESTION_KEYS}
    texts: dict[str, Any] = {**block["questions"], **asked}
    for key in (
        "safe_options",
        "continue_options",
        "callback_offer_options",
        "callback_known_phone_options",
        "risk_check_options",
    ):
        texts[key] = tuple(part.strip() for part in texts[key].split("|"))
    return texts

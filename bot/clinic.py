"""The clinic's own facts and fixed texts (data/clinic/clinic_profile.yml): name, phone, hours, FAQ, messages.

Texts may use {clinic_name}, {phone}, {address}, {hours} and {privacy_notice_url}; they are filled in here. Other placeholders
(such as {first_name} in messages.finished_with_lead) are left for the caller.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.yaml_files import read_yaml_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE_PATH = PROJECT_ROOT / "data" / "clinic" / "clinic_profile.yml"

# The FAQ topics are the keys of the profile's `faq`, not listed here: the NLU data names the same topics as the
# sub-intents `faq/<topic>` of the retrieval intent `faq` (tests/test_faq_topics.py checks both agree).
MESSAGE_KEYS = (
    "declined",
    "minor",
    "finished_with_lead",
    "handoff_delayed",
    "finished_no_contact",
    "talk_to_human",
    "stopped",
    "start_over",
    "already_done",
    "reask_prefix",
    "faq_unknown",
    "callback_sent",
    "callback_declined",
    "ended",
    "handoff_failed",
    "fallback",
    "stopped_after_alert_closed",
    "finished_after_alert",
    "privacy_note_inbox",
    "privacy_note_records",
    "erased",
    "erased_after_sent",
    "erased_after_alert",
)


class ClinicProfileError(ValueError):
    """The clinic profile file is missing or malformed."""


@dataclass(frozen=True)
class ClinicProfile:
    name: str
    phone: str  # as shown to people: "(818) 555-0134"
    phone_e164: str  # "+18185550134"
    address: str
    hours: str
    website: str = ""
    privacy_notice_url: str = ""  # linked before consent; the website when the profile names none
    faq: Dict[str, str] = field(default_factory=dict)  # topic -> answer text
    messages: Dict[str, str] = field(default_factory=dict)  # key -> text
    resources: Dict[str, object] = field(default_factory=dict)  # "crisis": str, "minors": [str, ...]
    sources: Dict[str, str] = field(default_factory=dict)  # topic -> where the medical claims come from

    @property
    def minor_resources(self) -> Tuple[str, ...]:
        return tuple(self.resources.get("minors") or ())  # type: ignore[arg-type]


def _flat(text: object) -> str:
    return " ".join(str(text).split())


def _fill(text: object, values: Dict[str, str]) -> str:
    filled = _flat(text)
    for key, value in values.items():
        filled = filled.replace("{" + key + "}", value)
    return filled


def _profile_path(path: Optional[Path]) -> Path:
    if path is not None:
        return Path(path)
    # Same variable and default as bot.settings (CLINIC_PROFILE), read without settings' side effects.
    configured = os.environ.get("CLINIC_PROFILE", "").strip()
    return Path(configured) if configured else DEFAULT_PROFILE_PATH


def _load(path: Path) -> ClinicProfile:
    data = read_yaml_mapping(path, ClinicProfileError, "clinic profile")
    missing = [key for key in ("name", "phone", "phone_e164", "address", "hours") if not data.get(key)]
    if missing:
        raise ClinicProfileError(f"clinic profile {path} is missing: {', '.join(missing)}")
    values = {key: _flat(data[key]) for key in ("phone", "address", "hours")}
    values["clinic_name"] = _flat(data["name"])
    values["privacy_notice_url"] = _flat(data.get("privacy_notice_url") or data.get("website") or "")
    raw_faq = data.get("faq") or {}
    if not isinstance(raw_faq, dict) or not raw_faq:
        raise ClinicProfileError(f"clinic profile {path} needs `faq`: a mapping of topic -> answer")
    faq = {str(k): _fill(v, values) for k, v in raw_faq.items() if v}
    messages = {str(k): _fill(v, values) for k, v in (data.get("messages") or {}).items()}
    absent = [f"faq.{t}" for t in raw_faq if str(t) not in faq] + [m for m in MESSAGE_KEYS if m not in messages]
    if absent:
        raise ClinicProfileError(f"clinic profile {path} lacks texts for: {', '.join(absent)}")
    resources = dict(data.get("resources") or {})
    return ClinicProfile(
        name=values["clinic_name"],
        phone=values["phone"],
        phone_e164=_flat(data["phone_e164"]),
        address=values["address"],
        hours=values["hours"],
        website=_flat(data.get("website", "")),
        privacy_notice_url=values["privacy_notice_url"],
        faq=faq,
        messages=messages,
        resources=resources,
        sources={str(k): _flat(v) for k, v in (data.get("sources") or {}).items()},
    )


@functools.lru_cache(maxsize=8)
def _cached(path: str) -> ClinicProfile:
    return _load(Path(path))


def load_clinic_profile(path: Optional[Path] = None) -> ClinicProfile:
    """The clinic profile at `path` (default: CLINIC_PROFILE or data/clinic/clinic_profile.yml), cached."""
    return _cached(str(_profile_path(path).resolve()))


def faq_answer(topic: str, profile: Optional[ClinicProfile] = None) -> str:
    """The clinic's answer for an FAQ topic; an unknown topic gets a kind "call us" text, never an error."""
    profile = profile or load_clinic_profile()
    key = topic.strip().lower() if isinstance(topic, str) else ""
    return profile.faq.get(key) or profile.messages["faq_unknown"]

"""Messages in Spanish, which the assistant does not chat in yet (data/clinic/languages.yml).

A Spanish message gets a short Spanish notice (we chat in English for now, the clinic's phone, the Spanish crisis
lines) before the English conversation goes on. Deterministic, so it needs no model: the crisis detector runs on
every message anyway, in English and Spanish, and comes first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import FrozenSet, Optional

from bot.yaml_files import read_yaml_mapping

DEFAULT_LANGUAGES_PATH = Path(__file__).resolve().parent.parent / "data" / "clinic" / "languages.yml"
_WORD = re.compile(r"[a-z]+")


class LanguagesError(ValueError):
    """data/clinic/languages.yml is missing or malformed."""


@dataclass(frozen=True)
class SpanishCheck:
    words: FrozenSet[str]  # Spanish words English text does not use, accents removed
    markers: FrozenSet[str]  # one is enough: the message names the language ("español")
    min_words: int
    min_share: float
    notice: str  # with {phone}


def plain_words(text: str) -> list[str]:
    """Lower-case words without accents: "¿Información?" -> ["informacion"]."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def is_spanish(text: str, check: SpanishCheck) -> bool:
    words = plain_words(text or "")
    if not words:
        return False
    if check.markers & set(words):
        return True
    spanish = sum(1 for w in words if w in check.words)
    return spanish >= check.min_words and spanish / len(words) >= check.min_share


def spanish_notice(check: SpanishCheck, phone: str) -> str:
    return " ".join(check.notice.split()).replace("{phone}", phone)


@functools.lru_cache(maxsize=4)
def load_spanish_check(path: Optional[Path] = None) -> SpanishCheck:
    path = path or DEFAULT_LANGUAGES_PATH
    data = read_yaml_mapping(path, LanguagesError, "languages file")
    raw = data.get("spanish")
    if not isinstance(raw, dict) or not raw.get("words") or not raw.get("notice"):
        raise LanguagesError(f"{path}: `spanish` needs `words` and `notice`")
    return SpanishCheck(
        words=frozenset(w for word in raw["words"] for w in plain_words(str(word))),
        markers=frozenset(w for word in raw.get("markers") or () for w in plain_words(str(word))),
        min_words=int(raw.get("min_words", 2)),
        min_share=float(raw.get("min_share", 0.4)),
        notice=str(raw["notice"]),
    )
